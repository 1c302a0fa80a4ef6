using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Identity.Service.Storage;
using Identity.V1;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Security;

/// <summary>The append-only audit trail of partner calls and admin writes: client, RPC, member id, outcome, instant.</summary>
public sealed class AuditTrail(IdentityStore store, TimeProvider clock)
{
    public Task RecordAsync(Caller caller, string rpc, string? memberId, StatusCode outcome) =>
        // Recorded even when the caller has gone away: the trail must not depend on the caller waiting.
        store.WriteAsync((db, _) =>
        {
            db.AuditEvents.Add(new AuditEventRecord
            {
                ClientId = caller.Id, ClientName = caller.Name, Rpc = rpc, MemberId = memberId, Outcome = OutcomeName(outcome), OccurredAt = clock.GetUtcNow(),
            });
            return Task.FromResult(0);
        }, CancellationToken.None);

    public Task<ListAuditEventsResponse> ListAsync(string? clientId, string? memberId, DateTimeOffset? from, DateTimeOffset? to, int pageSize, long? before,
        CancellationToken cancellationToken) =>
        store.ReadAsync(async (db, ct) =>
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
                });
            }
            if (rows.Count > pageSize)
                response.NextPageToken = Loyalty.PageToken.Encode(rows[pageSize - 1].Id);
            return response;
        }, cancellationToken);

    /// <summary>The canonical status name, e.g. <c>PERMISSION_DENIED</c>.</summary>
    static string OutcomeName(StatusCode code)
    {
        var name = code.ToString();
        return string.Concat(name.Select((c, i) => i > 0 && char.IsUpper(c) && char.IsLower(name[i - 1]) ? "_" + c : c.ToString())).ToUpperInvariant();
    }
}
