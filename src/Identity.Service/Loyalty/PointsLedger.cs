using Identity.Service.Errors;
using Identity.Service.Storage;
using Identity.V1;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Loyalty;

/// <summary>
/// The points ledger of one account, inside the caller's transaction. Entries are append-only and the balance is their
/// sum; earned points form lots, and the balance always equals the points remaining in the lots. Spending takes the
/// soonest-expiring lots first and never overdraws.
/// </summary>
public static class PointsLedger
{
    /// <summary>Expires every lot of the account that is due at <paramref name="asOf"/>; returns (lots, points).</summary>
    public static async Task<(int Lots, long Points)> ExpireDueAsync(IdentityDbContext db, LoyaltyAccountRecord account, DateTimeOffset asOf, CancellationToken ct)
    {
        var due = await db.PointsLots
            .Where(l => l.MemberId == account.MemberId && l.Remaining > 0 && l.ExpiresAt <= asOf)
            .OrderBy(l => l.ExpiresAt).ThenBy(l => l.Id)
            .ToListAsync(ct);
        long points = 0;
        foreach (var lot in due)
        {
            Append(db, account, PointsEntryKind.Expire, -lot.Remaining, $"lot:{lot.Id}", "expired", asOf);
            points += lot.Remaining;
            lot.Remaining = 0;
        }
        return (due.Count, points);
    }

    public static void Earn(IdentityDbContext db, LoyaltyAccountRecord account, PointsEntryKind kind, long points,
        DateTimeOffset expiresAt, string reference, string? reason, DateTimeOffset now)
    {
        if (points <= 0)
            return;
        db.PointsLots.Add(new PointsLotRecord
        {
            MemberId = account.MemberId, Points = points, Remaining = points, EarnedAt = now, ExpiresAt = expiresAt, Source = reference,
        });
        Append(db, account, kind, points, reference, reason, now);
    }

    /// <summary>Spends exactly <paramref name="points"/>, soonest-expiring lots first; INSUFFICIENT_POINTS if the balance is short.</summary>
    public static async Task SpendAsync(IdentityDbContext db, LoyaltyAccountRecord account, PointsEntryKind kind, long points,
        string reference, string? reason, DateTimeOffset now, CancellationToken ct)
    {
        if (points > account.PointsBalance)
            IdentityException.ThrowFailedPrecondition(ErrorReasons.InsufficientPoints,
                $"The member has {account.PointsBalance} points; {points} were asked for.");
        await ConsumeAsync(db, account.MemberId, points, ct);
        Append(db, account, kind, -points, reference, reason, now);
    }

    /// <summary>
    /// Takes back up to <paramref name="points"/> (never more than the balance), soonest-expiring lots first like any
    /// spend, so the member keeps the points that last longest. Returns what was taken.
    /// </summary>
    public static async Task<long> ReverseAsync(IdentityDbContext db, LoyaltyAccountRecord account, long points,
        string reference, DateTimeOffset now, CancellationToken ct)
    {
        var taken = Math.Min(points, account.PointsBalance);
        if (taken <= 0)
            return 0;
        await ConsumeAsync(db, account.MemberId, taken, ct);
        Append(db, account, PointsEntryKind.Reverse, -taken, reference, "refund", now);
        return taken;
    }

    /// <summary>Moves the absorbed account's points and lots to the survivor with a migrate entry on each side.</summary>
    public static async Task MigrateAsync(IdentityDbContext db, LoyaltyAccountRecord absorbed, LoyaltyAccountRecord survivor, DateTimeOffset now, CancellationToken ct)
    {
        await db.PointsLots.Where(l => l.MemberId == absorbed.MemberId)
            .ExecuteUpdateAsync(s => s.SetProperty(l => l.MemberId, survivor.MemberId), ct);
        var points = absorbed.PointsBalance;
        if (points == 0)
            return;
        Append(db, absorbed, PointsEntryKind.Migrate, -points, $"merge:{survivor.MemberId}", "merged into survivor", now);
        Append(db, survivor, PointsEntryKind.Migrate, points, $"merge:{absorbed.MemberId}", "merged from absorbed member", now);
    }

    static async Task ConsumeAsync(IdentityDbContext db, string memberId, long points, CancellationToken ct)
    {
        var lots = await db.PointsLots
            .Where(l => l.MemberId == memberId && l.Remaining > 0)
            .OrderBy(l => l.ExpiresAt).ThenBy(l => l.Id)
            .ToListAsync(ct);
        var left = points;
        foreach (var lot in lots)
        {
            if (left == 0)
                break;
            var take = Math.Min(left, lot.Remaining);
            lot.Remaining -= take;
            left -= take;
        }
        if (left != 0)
            throw new InvalidOperationException($"Ledger inconsistency: lots of member {memberId} hold less than its balance.");
    }

    static void Append(IdentityDbContext db, LoyaltyAccountRecord account, PointsEntryKind kind, long points, string reference, string? reason, DateTimeOffset now)
    {
        account.PointsBalance += points;
        db.PointsEntries.Add(new PointsEntryRecord
        {
            MemberId = account.MemberId, Kind = (int)kind, Points = points, BalanceAfter = account.PointsBalance,
            Reference = reference, Reason = reason, CreatedAt = now,
        });
    }
}
