using Identity.Service.Caching;
using Identity.Service.Errors;
using Identity.Service.Storage;

namespace Identity.Service.Loyalty.Writes;

/// <summary>Redemptions and operator adjustments: points spent soonest-expiring first, never more than the balance.</summary>
public sealed class PointsSpending(AccountOpening accounts)
{
    public async Task<PointsResult> RedeemAsync(IdentityDbContext db, CacheChange change, RedeemCommand command, CancellationToken ct)
    {
        var (program, member, account, now) = await accounts.OpenAsync(db, command.Member, ct);
        EnsureCovered(account, command.Points);
        await PointsLedger.SpendAsync(db, account, V1.PointsEntryKind.Redeem, command.Points, $"redeem:{command.RequestId}", command.Reason, now, ct);
        LoyaltyAccounts.Touch(account, now);
        return new PointsResult(member.Id, command.Points, account.PointsBalance);
    }

    public async Task<PointsResult> AdjustAsync(IdentityDbContext db, CacheChange change, AdjustCommand command, CancellationToken ct)
    {
        var (program, member, account, now) = await accounts.OpenAsync(db, command.Member, ct);
        var reference = $"adjust:{command.RequestId}";
        var reason = $"{command.Reason} (by {command.Operator})";
        if (command.Points > 0)
        {
            PointsLedger.Earn(db, account, V1.PointsEntryKind.Adjust, command.Points, PointsMath.ExpiresAt(program, now), reference, reason, now);
        }
        else
        {
            EnsureCovered(account, -command.Points);
            await PointsLedger.SpendAsync(db, account, V1.PointsEntryKind.Adjust, -command.Points, reference, reason, now, ct);
        }
        LoyaltyAccounts.Touch(account, now);
        return new PointsResult(member.Id, command.Points, account.PointsBalance);
    }

    /// <summary>A debit the balance cannot cover is refused, and the refusal is remembered under the request's key.</summary>
    static void EnsureCovered(LoyaltyAccountRecord account, long points)
    {
        if (points > account.PointsBalance)
            throw IdentityException.RememberedRefusal(ErrorReasons.InsufficientPoints,
                $"The member had {account.PointsBalance} points; {points} were asked for.");
    }
}
