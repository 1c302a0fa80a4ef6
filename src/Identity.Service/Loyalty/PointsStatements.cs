using Google.Protobuf.WellKnownTypes;
using Identity.Service.Caching;
using Identity.Service.Errors;
using Identity.Service.Members;
using Identity.Service.Phones;
using Identity.Service.Storage;
using Identity.V1;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Loyalty;

/// <summary>
/// A member's points statement: the account with its lots, and the entries page by page. Points past their expiry are
/// expired first, so the balance shown is spendable.
/// </summary>
public sealed class PointsStatements(IdentityStore store, CachedWrites writes, PhoneProtector protector, TimeProvider clock)
{
    public async Task<GetPointsAccountResponse> GetPointsAccountAsync(MemberLookup lookup, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var (memberId, due) = await store.ReadAsync(async (db, ct) =>
        {
            var (member, _) = await MemberQueries.ResolveAsync(db, protector, lookup, ct);
            return (member.Id, await db.PointsLots.AnyAsync(l => l.MemberId == member.Id && l.Remaining > 0 && l.ExpiresAt <= now, ct));
        }, cancellationToken);
        if (due)
        {
            // Points past their expiry are expired before they are shown, so the balance shown is spendable.
            await writes.WriteAsync(async (db, change, ct) =>
            {
                var account = await db.LoyaltyAccounts.FirstAsync(a => a.MemberId == memberId, ct);
                await PointsLedger.ExpireDueAsync(db, account, now, ct);
                LoyaltyAccounts.Touch(account, now);
                return 0;
            }, cancellationToken);
        }
        return await store.ReadAsync(async (db, ct) =>
        {
            var balance = await db.LoyaltyAccounts.Where(a => a.MemberId == memberId).Select(a => (long?)a.PointsBalance).FirstOrDefaultAsync(ct) ?? 0;
            var lots = await db.PointsLots.Where(l => l.MemberId == memberId && l.Remaining > 0)
                .OrderBy(l => l.ExpiresAt).ThenBy(l => l.Id).ToListAsync(ct);
            var response = new GetPointsAccountResponse { MemberId = memberId, Balance = balance };
            var soon = now.AddDays(30);
            foreach (var lot in lots)
            {
                response.Lots.Add(new PointsLot
                {
                    LotId = lot.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), Points = lot.Points, Remaining = lot.Remaining,
                    EarnedAt = Timestamp.FromDateTimeOffset(lot.EarnedAt), ExpiresAt = Timestamp.FromDateTimeOffset(lot.ExpiresAt), Source = lot.Source,
                });
                if (lot.ExpiresAt <= soon)
                    response.ExpiringWithin30Days += lot.Remaining;
            }
            if (lots.Count > 0)
                response.NextExpiry = Timestamp.FromDateTimeOffset(lots[0].ExpiresAt);
            return response;
        }, cancellationToken);
    }

    public Task<ListPointsEntriesResponse> ListEntriesAsync(MemberLookup lookup, int pageSize, long? before, CancellationToken cancellationToken) =>
        store.ReadAsync(async (db, ct) =>
        {
            var (member, _) = await MemberQueries.ResolveAsync(db, protector, lookup, ct);
            var query = db.PointsEntries.Where(e => e.MemberId == member.Id);
            if (before is { } id)
                query = query.Where(e => e.Id < id);
            var entries = await query.OrderByDescending(e => e.Id).Take(pageSize + 1).ToListAsync(ct);
            var response = new ListPointsEntriesResponse { MemberId = member.Id };
            foreach (var entry in entries.Take(pageSize))
            {
                response.Entries.Add(new PointsEntry
                {
                    EntryId = entry.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), Kind = (PointsEntryKind)entry.Kind,
                    Points = entry.Points, BalanceAfter = entry.BalanceAfter, Reference = entry.Reference, Reason = entry.Reason ?? "",
                    CreatedAt = Timestamp.FromDateTimeOffset(entry.CreatedAt),
                });
            }
            if (entries.Count > pageSize)
                response.NextPageToken = PageToken.Encode(entries[pageSize - 1].Id);
            return response;
        }, cancellationToken);
}
