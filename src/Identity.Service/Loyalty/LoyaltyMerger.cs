using Identity.Service.Storage;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Loyalty;

/// <summary>
/// The loyalty half of a member merge: points (with a migrate entry on each side), lots, orders and growth move to the
/// survivor; the survivor keeps the later paid tier; the tier is re-evaluated and never lowered by a merge.
/// </summary>
public sealed class LoyaltyMerger(ProgramCatalog catalog)
{
    public async Task MergeAsync(IdentityDbContext db, MemberRecord survivor, MemberRecord absorbed, DateTimeOffset now, CancellationToken ct)
    {
        var absorbedAccount = await db.LoyaltyAccounts.FirstOrDefaultAsync(a => a.MemberId == absorbed.Id, ct);
        if (absorbedAccount is null)
            return; // no loyalty activity: nothing to move
        var program = await catalog.ForWriteAsync(db, ct);
        var survivorAccount = await LoyaltyAccounts.EnsureAsync(db, program, survivor, now, ct);

        await db.Orders.Where(o => o.MemberId == absorbed.Id).ExecuteUpdateAsync(s => s.SetProperty(o => o.MemberId, survivor.Id), ct);
        await db.GrowthEvents.Where(g => g.MemberId == absorbed.Id).ExecuteUpdateAsync(s => s.SetProperty(g => g.MemberId, survivor.Id), ct);
        await PointsLedger.MigrateAsync(db, absorbedAccount, survivorAccount, now, ct);

        if (absorbedAccount.PaidExpiresAt is { } absorbedExpiry && absorbedExpiry > (survivorAccount.PaidExpiresAt ?? DateTimeOffset.MinValue))
            (survivorAccount.PaidTierCode, survivorAccount.PaidExpiresAt) = (absorbedAccount.PaidTierCode, absorbedExpiry);
        var absorbedTier = program.FindTier(absorbedAccount.GrowthTierCode);
        var survivorTier = program.FindTier(survivorAccount.GrowthTierCode);
        if (absorbedTier is not null && (survivorTier is null || absorbedTier.Rank > survivorTier.Rank))
            (survivorAccount.GrowthTierCode, survivorAccount.AssessmentAt) = (absorbedTier.Code, absorbedAccount.AssessmentAt);
        (absorbedAccount.PaidTierCode, absorbedAccount.PaidExpiresAt, absorbedAccount.Growth) = (null, null, 0);
        await db.SaveChangesAsync(ct);

        survivorAccount.Growth = await LoyaltyAccounts.GrowthAsync(db, program, survivor.Id, now, ct);
        var (state, _) = TierEvaluator.AfterGrowthChange(program, LoyaltyAccounts.State(survivorAccount), survivorAccount.Growth, now);
        LoyaltyAccounts.Apply(survivorAccount, state);
        LoyaltyAccounts.Touch(survivorAccount, now);
        LoyaltyAccounts.Touch(absorbedAccount, now);
    }
}
