using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Identity.V1;

namespace Identity.Service.Loyalty;

/// <summary><c>identity.v1.LoyaltyService</c>: read the request, call the desk, catalog or maintenance, return the reply.</summary>
public sealed class LoyaltyGrpcService(
    LoyaltyDesk desk, Caching.MemberSnapshots snapshots, ProgramCatalog catalog, LoyaltyMaintenance maintenance, LedgerVerifier verifier,
    Caching.RedisCache redis, TimeProvider clock, Microsoft.Extensions.Options.IOptions<Hosting.IdentityOptions> options)
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
        var (member, quoteContext) = LoyaltyRequests.Read(request, clock.GetUtcNow());
        var (snapshot, _) = await snapshots.ResolveAsync(member, context.CancellationToken);
        return new GetBenefitsResponse { MemberId = snapshot.Member.MemberId, Quote = BenefitCalculator.Quote(catalog.Program, snapshot, quoteContext) };
    }

    public override Task<RecordOrderResponse> RecordOrder(RecordOrderRequest request, ServerCallContext context) =>
        desk.RecordOrderAsync(LoyaltyRequests.Read(request, clock.GetUtcNow(), options.Value.LateOrderWindow), context.CancellationToken);

    public override Task<RecordRefundResponse> RecordRefund(RecordRefundRequest request, ServerCallContext context) =>
        desk.RecordRefundAsync(LoyaltyRequests.Read(request, clock.GetUtcNow(), options.Value.LateOrderWindow), context.CancellationToken);

    public override Task<RedeemPointsResponse> RedeemPoints(RedeemPointsRequest request, ServerCallContext context) =>
        desk.RedeemAsync(LoyaltyRequests.Read(request), context.CancellationToken);

    public override Task<AdjustPointsResponse> AdjustPoints(AdjustPointsRequest request, ServerCallContext context) =>
        desk.AdjustAsync(LoyaltyRequests.Read(request), context.CancellationToken);

    public override Task<CheckInResponse> CheckIn(CheckInRequest request, ServerCallContext context) =>
        desk.CheckInAsync(LoyaltyRequests.Read(request, clock.GetUtcNow(), catalog.Program.TimeZone), context.CancellationToken);

    public override Task<PurchaseMembershipResponse> PurchaseMembership(PurchaseMembershipRequest request, ServerCallContext context) =>
        desk.PurchaseAsync(LoyaltyRequests.Read(request, clock.GetUtcNow(), options.Value.LateOrderWindow), context.CancellationToken);

    public override Task<GetPointsAccountResponse> GetPointsAccount(GetPointsAccountRequest request, ServerCallContext context) =>
        desk.GetPointsAccountAsync(LoyaltyRequests.Read(request), context.CancellationToken);

    public override Task<ListPointsEntriesResponse> ListPointsEntries(ListPointsEntriesRequest request, ServerCallContext context)
    {
        var (member, pageSize, before) = LoyaltyRequests.Read(request);
        return desk.ListEntriesAsync(member, pageSize, before, context.CancellationToken);
    }

    public override Task<RunMaintenanceResponse> RunMaintenance(RunMaintenanceRequest request, ServerCallContext context) =>
        maintenance.RunAsync(LoyaltyRequests.Read(request, clock.GetUtcNow()), context.CancellationToken);

    public override Task<VerifyLedgerResponse> VerifyLedger(VerifyLedgerRequest request, ServerCallContext context) =>
        verifier.VerifyAsync(context.CancellationToken);
}
