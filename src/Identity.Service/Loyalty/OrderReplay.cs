using Google.Rpc;
using Grpc.Core;
using Identity.Service.Caching;
using Identity.Service.Errors;
using Identity.Service.Hosting;
using Identity.Service.Loyalty.Writes;
using Identity.Service.Members;
using Identity.Service.Security;
using Identity.V1;
using Microsoft.Extensions.Options;

namespace Identity.Service.Loyalty;

/// <summary>
/// RecordOrders: a till's queue of orders, each keyed and answered on its own exactly as RecordOrder would answer it.
/// The batch is recorded in paid_at order (ties in the request's order), whatever order it came in, so the points,
/// growth and tiers are those of recording each order live in the order it was paid. Each order is its own idempotent
/// write; on SQLite they are queued together, so group commit puts up to a group's worth in each transaction, and one
/// order's failure rolls back only that order. On PostgreSQL each member's orders share transactions in the member's lane
/// (<see cref="Storage.IdentityStore"/>), and different members' orders run side by side.
/// </summary>
public sealed class OrderReplay(
    IdempotentWrites idempotent, OrderRecording orders, MemberSnapshots snapshots, TimeProvider clock, IOptions<IdentityOptions> options,
    ILogger<OrderReplay> logger)
{
    public const int MaxOrders = 500;

    /// <summary>On PostgreSQL, how many of a batch's orders run at once (each holds a pooled connection while it runs).</summary>
    public const int ConcurrentMembers = 8;

    public async Task<RecordOrdersResponse> RecordAsync(Caller caller, RecordOrdersRequest request, CancellationToken ct)
    {
        if (request.Orders.Count is 0 or > MaxOrders)
            throw IdentityException.Invalid("orders", $"must hold 1 to {MaxOrders} orders");
        var now = clock.GetUtcNow();
        var results = new RecordOrderResult[request.Orders.Count];
        var admitted = new List<(int Index, OrderCommand Command, Storage.IdempotencyKey Key)>(request.Orders.Count);
        // Orders older than the window: replayed when they were recorded while they were inside it, refused otherwise.
        var late = new List<(int Index, OrderCommand Command, Storage.IdempotencyKey Key, IdentityException Refusal)>();
        for (var i = 0; i < request.Orders.Count; i++)
        {
            try
            {
                var order = request.Orders[i];
                var ((command, key), tooLate) = LateRepeats.Read(window => OrderAdmission.Admit(caller, order, now, window), now, options.Value.LateOrderWindow);
                if (tooLate is null)
                    admitted.Add((i, command, key));
                else
                    late.Add((i, command, key, tooLate));
            }
            catch (Exception e) when (e is IdentityException or RpcException)
            {
                results[i] = Refused(i, e, ct);
            }
        }

        var resolved = new Dictionary<MemberLookup, ResolvedMember?>();
        foreach (var (_, command, _) in admitted)
            if (!resolved.ContainsKey(command.Member))
                resolved[command.Member] = await ResolveAsync(snapshots, command.Member, ct);

        // In paid_at order. SQLite's writer runs writes in the order queued, so all are queued at once (group commit).
        // PostgreSQL runs writes concurrently: with member lanes (Identity:Store:GroupMemberWrites), each member's orders
        // queue in its lane in the order they are started here, and share transactions; different members' orders run
        // side by side, at most ConcurrentMembers at a time. An order whose member did not resolve, one whose key names
        // another member too, and every order without lanes, starts once the ones before it have committed.
        var queue = admitted.OrderBy(a => a.Command.PaidAt).ThenBy(a => a.Index).ToList();
        var start = ((int Index, OrderCommand Command, Storage.IdempotencyKey Key) a) => idempotent.RunAsync(a.Key,
            (db, change, token) => orders.RecordAsync(db, change, a.Command with { Resolved = resolved[a.Command.Member] }, token),
            LoyaltyReplies.Order, r => r.Also(x => x.Replayed = true), ct, lookupInWrite: true, member: resolved[a.Command.Member]?.Id);
        var store = options.Value.Store;
        var started = new Task<RecordOrderResponse>[queue.Count];
        if (!store.IsPostgres)
        {
            for (var n = 0; n < queue.Count; n++)
                started[n] = start(queue[n]);
        }
        else
        {
            // An order key that names more than one member in this batch: which one is first must be paid_at order, not a race.
            var shared = queue.GroupBy(a => (a.Key.Scope, a.Key.Key))
                .Where(g => g.Select(a => resolved[a.Command.Member]?.Id).Distinct().Count() > 1).Select(g => g.Key).ToHashSet();
            var running = new List<Task>();
            for (var n = 0; n < queue.Count; n++)
            {
                var laned = store.GroupMemberWrites && resolved[queue[n].Command.Member] is not null && !shared.Contains((queue[n].Key.Scope, queue[n].Key.Key));
                while (running.Count > 0 && (!laned || running.Count >= ConcurrentMembers))
                    running.Remove(await Task.WhenAny(running));
                started[n] = start(queue[n]);
                running.Add(started[n]);
            }
        }
        for (var n = 0; n < queue.Count; n++)
        {
            var index = queue[n].Index;
            try
            {
                results[index] = new RecordOrderResult { Index = index, Recorded = await started[n] };
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                results[index] = Refused(index, e, ct);
            }
        }
        foreach (var (index, command, key, refusal) in late)
        {
            try
            {
                results[index] = new RecordOrderResult { Index = index, Recorded = await ReplayLateAsync(idempotent, snapshots, command, key, refusal, ct) };
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                results[index] = Refused(index, e, ct);
            }
        }
        var response = new RecordOrdersResponse();
        response.Results.AddRange(results);
        return response;
    }

    /// <summary>
    /// An order older than the late-order window (<see cref="LateRepeats"/>): its kept reply when it was recorded while it
    /// was inside the window, for a member the caller may still see (as any repeat); else <paramref name="refusal"/>.
    /// </summary>
    public static async Task<RecordOrderResponse> ReplayLateAsync(IdempotentWrites idempotent, MemberSnapshots snapshots, OrderCommand command,
        Storage.IdempotencyKey key, IdentityException refusal, CancellationToken ct)
    {
        if (!await idempotent.IsKeptAsync(key, ct))
            throw refusal;
        await snapshots.ResolveAsync(command.Member, ct); // NOT_FOUND for a member gone or out of the caller's scope
        return await idempotent.ReplayAsync<RecordOrderResponse>(key, r => r.Also(x => x.Replayed = true), refusal, ct);
    }

    /// <summary>
    /// The member as the cache resolves it now, or null when it does not (the write then resolves it itself and answers
    /// as RecordOrder would, replays included).
    /// </summary>
    public static async Task<ResolvedMember?> ResolveAsync(MemberSnapshots snapshots, MemberLookup lookup, CancellationToken ct) =>
        await snapshots.MemberIdAsync(lookup, ct) is { } id ? new ResolvedMember(id) : null;

    /// <summary>The order's refusal as RecordOrder would have sent it: the same status code, reason, field and message.</summary>
    RecordOrderResult Refused(int index, Exception exception, CancellationToken ct)
    {
        var rpc = ErrorMapping.ToRpcException(exception, ct);
        if (rpc.StatusCode == StatusCode.Internal)
            Log.CallFailed(logger, "RecordOrders", exception.GetType().Name, exception);
        var status = rpc.GetRpcStatus();
        var violation = status?.GetDetail<BadRequest>()?.FieldViolations.FirstOrDefault();
        return new RecordOrderResult
        {
            Index = index,
            Error = new OrderError
            {
                Code = CodeName(rpc.StatusCode),
                // The field's own reason (LATE_ORDER) when it has one: the per-order answer names the one thing to fix.
                Reason = violation is { Reason.Length: > 0 } ? violation.Reason : status?.GetDetail<ErrorInfo>()?.Reason ?? "",
                Field = violation?.Field ?? "",
                Message = status?.Message ?? rpc.Status.Detail,
            },
        };
    }

    /// <summary>INVALID_ARGUMENT, NOT_FOUND, ...: the name gRPC gives the code in its own documents.</summary>
    public static string CodeName(StatusCode code) =>
        string.Concat(code.ToString().Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + c : char.ToUpperInvariant(c).ToString()));
}
