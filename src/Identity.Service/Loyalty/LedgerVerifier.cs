using Identity.Service.Storage;
using Identity.V1;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Loyalty;

/// <summary>
/// Checks the ledger's invariants for every account: the balance equals the sum of its entries and the points left in
/// its lots; each entry's balance-after continues the previous one; no lot holds less than 0 or more than it earned.
/// </summary>
public sealed class LedgerVerifier(IdentityStore store)
{
    public Task<VerifyLedgerResponse> VerifyAsync(CancellationToken cancellationToken) =>
        store.ReadAsync(async (db, ct) =>
        {
            var response = new VerifyLedgerResponse();
            var balances = await db.LoyaltyAccounts.Select(a => new { a.MemberId, a.PointsBalance }).ToDictionaryAsync(a => a.MemberId, a => a.PointsBalance, ct);
            var entrySums = await db.PointsEntries.GroupBy(e => e.MemberId).Select(g => new { g.Key, Sum = g.Sum(e => e.Points) })
                .ToDictionaryAsync(g => g.Key, g => g.Sum, ct);
            var lotSums = await db.PointsLots.GroupBy(l => l.MemberId).Select(g => new { g.Key, Sum = g.Sum(l => l.Remaining) })
                .ToDictionaryAsync(g => g.Key, g => g.Sum, ct);
            response.AccountsChecked = balances.Count;

            foreach (var (memberId, balance) in balances)
            {
                var entries = entrySums.GetValueOrDefault(memberId);
                var lots = lotSums.GetValueOrDefault(memberId);
                if (entries != balance)
                    response.Problems.Add($"{memberId}: balance {balance} but entries sum to {entries}");
                if (lots != balance)
                    response.Problems.Add($"{memberId}: balance {balance} but lots hold {lots}");
                if (balance < 0)
                    response.Problems.Add($"{memberId}: negative balance {balance}");
            }
            foreach (var orphan in entrySums.Keys.Concat(lotSums.Keys).Distinct().Where(m => !balances.ContainsKey(m)))
                response.Problems.Add($"{orphan}: ledger rows without an account");

            var badLots = await db.PointsLots.Where(l => l.Remaining < 0 || l.Remaining > l.Points)
                .Select(l => new { l.Id, l.MemberId, l.Points, l.Remaining }).ToListAsync(ct);
            foreach (var lot in badLots)
                response.Problems.Add($"{lot.MemberId}: lot {lot.Id} has {lot.Remaining} of {lot.Points} points remaining");

            // The running balance must match every entry's balance-after, in order.
            string? current = null;
            long running = 0;
            await foreach (var entry in db.PointsEntries.OrderBy(e => e.MemberId).ThenBy(e => e.Id)
                               .Select(e => new { e.Id, e.MemberId, e.Points, e.BalanceAfter }).AsAsyncEnumerable().WithCancellation(ct))
            {
                if (entry.MemberId != current)
                    (current, running) = (entry.MemberId, 0);
                running += entry.Points;
                if (running != entry.BalanceAfter)
                {
                    response.Problems.Add($"{entry.MemberId}: entry {entry.Id} says balance {entry.BalanceAfter}, entries before it sum to {running}");
                    running = entry.BalanceAfter;
                }
            }
            return response;
        }, cancellationToken);
}
