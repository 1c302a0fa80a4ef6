using Identity.Service.Caching;
using Identity.Service.Errors;
using Identity.Service.Members;
using Identity.Service.Phones;
using Identity.Service.Storage;

namespace Identity.Service.Loyalty.Writes;

/// <summary>Buys or renews a paid tier at its price; a renewal extends from the current expiry.</summary>
public sealed class MembershipPurchase(ProgramCatalog catalog, PhoneProtector protector, TimeProvider clock)
{
    public async Task<MembershipResult> PurchaseAsync(IdentityDbContext db, CacheChange change, PurchaseCommand command, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var program = await catalog.ForWriteAsync(db, ct);
        var (member, _) = await MemberQueries.ResolveAsync(db, protector, command.Member, ct);
        var tier = program.FindTier(command.TierCode);
        if (tier?.Paid is not { } terms)
            throw IdentityException.Invalid("tier_code", $"is not a paid tier of program version {program.Version}");
        if (command.PaidFen != terms.PriceFen)
            throw IdentityException.Invalid("paid_fen", $"must be the tier's price, {terms.PriceFen} fen");

        var account = await LoyaltyAccounts.EnsureAsync(db, program, member, now, ct);
        var current = account.PaidTierCode == tier.Code ? account.PaidExpiresAt : null;
        var (expiresAt, renewed) = TierEvaluator.PaidExpiry(program, tier, current, command.PaidAt);
        account.PaidTierCode = tier.Code;
        account.PaidExpiresAt = expiresAt;
        LoyaltyAccounts.Touch(account, now);
        return new MembershipResult(member.Id, tier, expiresAt, renewed);
    }
}
