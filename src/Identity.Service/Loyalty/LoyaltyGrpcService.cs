using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Identity.Service.Caching;
using Identity.Service.Errors;
using Identity.Service.Loyalty.Writes;
using Identity.Service.Security;
using Identity.Service.Storage;
using Identity.V1;

namespace Identity.Service.Loyalty;

/// <summary>
/// <c>identity.v1.LoyaltyService</c>: read the request, hold it to what the caller may touch, run the use case (writes
/// once per idempotency key), build the reply.
/// </summary>
public sealed class LoyaltyGrpcService(
    IdempotentWrites idempotent, OrderRecording orders, RefundRecording refunds, PointsSpending spending, DailyCheckIn checkIns,
    MembershipPurchase memberships, PointsStatements statements, MemberSnapshots snapshots, ProgramCatalog catalog, LoyaltyMaintenance maintenance,
    LedgerVerifier verifier, RedisCache redis, TimeProvider clock, Microsoft.Extensions.Options.IOptions<Hosting.IdentityOptions> options, OrderReplay replay)
    : LoyaltyService.LoyaltyServiceBase
{
    public const string ProgramAnnouncement = "program";

    public override Task<GetProgramResponse> GetProgram(GetProgramRequest request, ServerCallContext context)
    {
        var current = catalog.Current;
        return Task.FromResult(new GetProgramResponse
        {
            Version = current.Program.Version, ProgramJson = current.Json, PublishedAt = Timestamp.FromDateTimeOffset(current.PublishedAt),
        });
    }

    public override async Task<PublishProgramResponse> PublishProgram(PublishProgramRequest request, ServerCallContext context)
    {
        var (json, validateOnly, expected) = LoyaltyRequests.Read(request);
        var (version, unchanged) = await catalog.PublishAsync(json, validateOnly, expected, context.CancellationToken);
        if (!validateOnly && !unchanged)
            await redis.AnnounceAsync(ProgramAnnouncement); // other instances load it now rather than at their next refresh
        return new PublishProgramResponse { Version = version, Unchanged = unchanged };
    }

    public override async Task<GetBenefitsResponse> GetBenefits(GetBenefitsRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var (member, quoteContext) = LoyaltyRequests.Read(request, clock.GetUtcNow());
        caller.RequireStore(quoteContext.StoreId, "context.store_id");
        var (snapshot, _) = await snapshots.ResolveAsync(caller.Scoped(member), context.CancellationToken);
        return new GetBenefitsResponse { MemberId = snapshot.Member.MemberId, Quote = BenefitCalculator.Quote(catalog.Program, snapshot, quoteContext) };
    }

    public override async Task<RecordOrderResponse> RecordOrder(RecordOrderRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var now = clock.GetUtcNow();
        var ((command, key), late) = LateRepeats.Read(window => OrderAdmission.Admit(caller, request, now, window), now, options.Value.LateOrderWindow);
        if (late is not null)
            return await OrderReplay.ReplayLateAsync(idempotent, snapshots, command, key, late, context.CancellationToken);
        // The member comes from the cache now, outside the write; the write re-reads only its row (by key) to check it.
        command = command with { Resolved = await OrderReplay.ResolveAsync(snapshots, command.Member, context.CancellationToken) };
        return await idempotent.RunAsync(key, (db, change, ct) => orders.RecordAsync(db, change, command, ct), LoyaltyReplies.Order,
            r => r.Also(x => x.Replayed = true), context.CancellationToken, lookupInWrite: true, member: command.Resolved?.Id);
    }

    public override Task<RecordOrdersResponse> RecordOrders(RecordOrdersRequest request, ServerCallContext context) =>
        replay.RecordAsync(context.Caller(), request, context.CancellationToken);

    public override Task<RecordRefundResponse> RecordRefund(RecordRefundRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var now = clock.GetUtcNow();
        var (command, late) = LateRepeats.Read(window => LoyaltyRequests.Read(request, now, window), now, options.Value.LateOrderWindow);
        var scope = caller.OrderScope();
        var key = IdempotencyKey.Business("refund", $"{command.Channel}:{command.RefundId}", request);
        // The stored order decides, repeats included: an order the caller may not refund is answered as unknown.
        Func<IdentityDbContext, CancellationToken, Task> guard = (db, ct) => RefundRecording.FindOrderAsync(db, command, scope, ct);
        if (late is not null)
            return idempotent.ReplayAsync<RecordRefundResponse>(key, r => r.Also(x => x.Replayed = true), late, context.CancellationToken, guard);
        return idempotent.RunAsync(key, (db, change, ct) => refunds.RecordAsync(db, change, command, scope, ct), LoyaltyReplies.Refund,
            r => r.Also(x => x.Replayed = true), context.CancellationToken, guard: guard);
    }

    public override Task<RedeemPointsResponse> RedeemPoints(RedeemPointsRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var command = LoyaltyRequests.Read(request);
        caller.RequireOwnChannel((int)command.Channel, "channel");
        command = command with { Member = caller.Scoped(command.Member) };
        var key = IdempotencyKey.PerClient("redeem", caller.Id, command.RequestId, request);
        return idempotent.RunAsync(key, (db, change, ct) => spending.RedeemAsync(db, change, command, ct), LoyaltyReplies.Redeem,
            r => r.Also(x => x.Replayed = true), context.CancellationToken);
    }

    public override Task<AdjustPointsResponse> AdjustPoints(AdjustPointsRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var command = LoyaltyRequests.Read(request);
        command = command with { Member = caller.Scoped(command.Member) };
        var key = IdempotencyKey.PerClient("adjust", caller.Id, command.RequestId, request);
        return idempotent.RunAsync(key, (db, change, ct) => spending.AdjustAsync(db, change, command, ct), LoyaltyReplies.Adjust,
            r => r.Also(x => x.Replayed = true), context.CancellationToken);
    }

    public override Task<CheckInResponse> CheckIn(CheckInRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var command = LoyaltyRequests.Read(request, clock.GetUtcNow(), catalog.Program.TimeZone);
        caller.RequireOwnChannel((int)command.Channel, "channel");
        command = command with { Member = caller.Scoped(command.Member) };
        // Without a request id the brand-local day is the key (a second check-in that day grants nothing).
        var key = LoyaltyRequests.OptionalRequestId(request.RequestId) is { } requestId ? IdempotencyKey.PerClient("checkin", caller.Id, requestId, request) : null;
        return key is null
            ? idempotent.RunAsync((db, change, ct) => checkIns.CheckInAsync(db, change, command, ct), LoyaltyReplies.CheckIn, context.CancellationToken)
            : idempotent.RunAsync(key, (db, change, ct) => checkIns.CheckInAsync(db, change, command, ct), LoyaltyReplies.CheckIn, r => r,
                context.CancellationToken);
    }

    public override Task<PurchaseMembershipResponse> PurchaseMembership(PurchaseMembershipRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var now = clock.GetUtcNow();
        var (command, late) = LateRepeats.Read(window => LoyaltyRequests.Read(request, now, window), now, options.Value.LateOrderWindow);
        caller.RequireOwnChannel((int)command.Channel, "channel");
        command = command with { Member = caller.Scoped(command.Member) };
        var key = IdempotencyKey.PerClient("membership", caller.Id, command.RequestId, request);
        if (late is not null)
            return idempotent.ReplayAsync<PurchaseMembershipResponse>(key, r => r.Also(x => x.Replayed = true), late, context.CancellationToken);
        return idempotent.RunAsync(key, (db, change, ct) => memberships.PurchaseAsync(db, change, command, ct), LoyaltyReplies.Membership,
            r => r.Also(x => x.Replayed = true), context.CancellationToken);
    }

    public override Task<GetPointsAccountResponse> GetPointsAccount(GetPointsAccountRequest request, ServerCallContext context) =>
        statements.GetPointsAccountAsync(context.Caller().Scoped(LoyaltyRequests.Read(request)), context.CancellationToken);

    public override Task<ListPointsEntriesResponse> ListPointsEntries(ListPointsEntriesRequest request, ServerCallContext context)
    {
        var (member, pageSize, before) = LoyaltyRequests.Read(request);
        return statements.ListEntriesAsync(context.Caller().Scoped(member), pageSize, before, context.CancellationToken);
    }

    public override Task<RunMaintenanceResponse> RunMaintenance(RunMaintenanceRequest request, ServerCallContext context) =>
        maintenance.RunAsync(LoyaltyRequests.Read(request, clock.GetUtcNow()), context.CancellationToken);

    public override Task<VerifyLedgerResponse> VerifyLedger(VerifyLedgerRequest request, ServerCallContext context) =>
        verifier.VerifyAsync(context.CancellationToken);
}
