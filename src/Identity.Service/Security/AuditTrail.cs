using System.Collections.Concurrent;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Identity.Service.Storage;
using Identity.Service.Telemetry;
using Identity.V1;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Security;

/// <summary>
/// The audit trail of partner calls, admin writes and refused calls: client, RPC, member id, outcome, instant, count.
/// Audited calls are one row each. Refused calls (denied, over the rate limit) are counted per client, RPC, outcome and
/// minute, one row with a count, so a flood of refusals cannot flood the store. Rows are buffered in memory and written
/// by <see cref="AuditWriter"/> about once a second, outside the call's own transaction: an audit write that fails
/// never turns a committed write into a reported failure (it is retried, and logged).
/// </summary>
public sealed class AuditTrail(IdentityStore store, TimeProvider clock, SecurityMetrics metrics)
{
    readonly ConcurrentQueue<AuditEventRecord> pending = new();
    readonly ConcurrentDictionary<(string ClientId, string ClientName, string Rpc, string Outcome, DateTimeOffset Minute), int> refused = new();
    readonly SemaphoreSlim flushing = new(1, 1);

    public void Record(Caller caller, string rpc, string? memberId, StatusCode outcome) =>
        pending.Enqueue(new AuditEventRecord
        {
            ClientId = caller.Id, ClientName = caller.Name, Rpc = rpc, MemberId = memberId, Outcome = OutcomeName(outcome), OccurredAt = clock.GetUtcNow(),
        });

    /// <summary>A refused call: counted (here and in the metrics), not written one by one.</summary>
    public void CountRefusal(Caller caller, string rpc, StatusCode outcome)
    {
        metrics.CallRefused(caller.Role, rpc, outcome);
        var now = clock.GetUtcNow();
        var minute = new DateTimeOffset(now.Ticks - now.Ticks % TimeSpan.TicksPerMinute, TimeSpan.Zero);
        refused.AddOrUpdate((caller.Id, caller.Name, rpc, OutcomeName(outcome), minute), 1, (_, n) => n + 1);
    }

    /// <summary>Writes what is buffered. Rows stay buffered when the store refuses them, and go with the next flush.</summary>
    public async Task FlushAsync(CancellationToken ct)
    {
        await flushing.WaitAsync(ct);
        try
        {
            var rows = new List<AuditEventRecord>();
            while (rows.Count < 5_000 && pending.TryDequeue(out var row))
                rows.Add(row);
            var counts = new List<KeyValuePair<(string ClientId, string ClientName, string Rpc, string Outcome, DateTimeOffset Minute), int>>();
            foreach (var key in refused.Keys)
                if (refused.TryRemove(key, out var n))
                    counts.Add(new(key, n));
            if (rows.Count == 0 && counts.Count == 0)
                return;
            try
            {
                await store.WriteAsync(async (db, token) =>
                {
                    await ForgetErasedMembersAsync(db, rows, token);
                    // Fresh rows each attempt: a group commit that failed after this write ran leaves the store's ids on
                    // the buffered rows, and a retry must not carry them.
                    db.AuditEvents.AddRange(rows.Select(r => new AuditEventRecord
                    {
                        ClientId = r.ClientId, ClientName = r.ClientName, Rpc = r.Rpc, MemberId = r.MemberId, Outcome = r.Outcome, OccurredAt = r.OccurredAt,
                        Count = r.Count,
                    }));
                    foreach (var ((clientId, clientName, rpc, outcome, minute), n) in counts)
                    {
                        // One row per client, RPC, outcome and minute: add to it when an earlier flush wrote it.
                        var updated = await db.AuditEvents
                            .Where(a => a.ClientId == clientId && a.Rpc == rpc && a.Outcome == outcome && a.OccurredAt == minute && a.MemberId == null)
                            .ExecuteUpdateAsync(s => s.SetProperty(a => a.Count, a => a.Count + n), token);
                        if (updated == 0)
                            db.AuditEvents.Add(new AuditEventRecord
                            {
                                ClientId = clientId, ClientName = clientName, Rpc = rpc, Outcome = outcome, OccurredAt = minute, Count = n,
                            });
                    }
                    return 0;
                }, ct);
            }
            catch
            {
                foreach (var row in rows)
                    pending.Enqueue(row);
                foreach (var (key, n) in counts)
                    refused.AddOrUpdate(key, n, (_, m) => m + n);
                throw;
            }
        }
        finally
        {
            flushing.Release();
        }
    }

    /// <summary>
    /// A row about a member erased while it was buffered (here or on another instance) loses the member id, as the rows
    /// written before the erasure did. The erasure's own row keeps it: it is the record of who erased the member.
    /// </summary>
    static async Task ForgetErasedMembersAsync(IdentityDbContext db, List<AuditEventRecord> rows, CancellationToken ct)
    {
        var named = rows.Where(r => r.MemberId is not null && !r.Rpc.EndsWith("/EraseMember", StringComparison.Ordinal))
            .Select(r => r.MemberId!).Distinct().ToList();
        if (named.Count == 0)
            return;
        // On PostgreSQL an erasure and this flush can run at once: lock the named members' rows, as the erasure does when
        // it loads its member, so that either the erasure commits first and is seen here, or it waits for this flush and
        // then clears the rows written now.
        if (db.Database.IsNpgsql())
            await db.Database.ExecuteSqlAsync($"SELECT 1 FROM members WHERE \"Id\" = ANY({named.ToArray()}) FOR UPDATE", ct);
        var erased = await db.Members
            .Where(m => named.Contains(m.Id) && (m.State == MemberRowState.Erased
                || db.Members.Any(s => s.Id == m.MergedIntoId && s.State == MemberRowState.Erased)))
            .Select(m => m.Id).ToListAsync(ct);
        foreach (var row in rows.Where(r => r.MemberId is not null && erased.Contains(r.MemberId) && !r.Rpc.EndsWith("/EraseMember", StringComparison.Ordinal)))
            row.MemberId = null;
    }

    /// <summary>Removes rows older than the retention; returns how many.</summary>
    public Task<int> PruneAsync(DateTimeOffset olderThan, CancellationToken ct) =>
        store.WriteAsync((db, token) => db.AuditEvents.Where(a => a.OccurredAt < olderThan).ExecuteDeleteAsync(token), ct);

    public async Task<ListAuditEventsResponse> ListAsync(string? clientId, string? memberId, DateTimeOffset? from, DateTimeOffset? to, int pageSize,
        long? before, CancellationToken cancellationToken)
    {
        await FlushAsync(cancellationToken); // what this instance saw is listed
        return await store.ReadAsync(async (db, ct) =>
        {
            var query = db.AuditEvents.AsQueryable();
            if (clientId is not null)
                query = query.Where(a => a.ClientId == clientId);
            if (memberId is not null)
                query = query.Where(a => a.MemberId == memberId);
            if (from is { } f)
                query = query.Where(a => a.OccurredAt >= f);
            if (to is { } t)
                query = query.Where(a => a.OccurredAt < t);
            if (before is { } id)
                query = query.Where(a => a.Id < id);
            var rows = await query.OrderByDescending(a => a.Id).Take(pageSize + 1).ToListAsync(ct);
            var response = new ListAuditEventsResponse();
            foreach (var row in rows.Take(pageSize))
            {
                response.Events.Add(new AuditEvent
                {
                    EventId = row.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), ClientId = row.ClientId, ClientName = row.ClientName,
                    Rpc = row.Rpc, MemberId = row.MemberId ?? "", Outcome = row.Outcome, OccurredAt = Timestamp.FromDateTimeOffset(row.OccurredAt),
                    Count = row.Count,
                });
            }
            if (rows.Count > pageSize)
                response.NextPageToken = Loyalty.PageToken.Encode(rows[pageSize - 1].Id);
            return response;
        }, cancellationToken);
    }

    /// <summary>The canonical status name, e.g. <c>PERMISSION_DENIED</c>.</summary>
    static string OutcomeName(StatusCode code)
    {
        var name = code.ToString();
        return string.Concat(name.Select((c, i) => i > 0 && char.IsUpper(c) && char.IsLower(name[i - 1]) ? "_" + c : c.ToString())).ToUpperInvariant();
    }
}
