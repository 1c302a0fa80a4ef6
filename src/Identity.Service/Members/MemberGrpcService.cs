using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Identity.Service.Caching;
using Identity.Service.Errors;
using Identity.Service.Hosting;
using Identity.Service.Loyalty;
using Identity.Service.Security;
using Identity.Service.Telemetry;
using Identity.V1;
using Microsoft.Extensions.Options;

namespace Identity.Service.Members;

/// <summary>
/// <c>identity.v1.MemberService</c>: read the request, hold it to what the caller may touch, call the directory, map the
/// reply as the caller may see it.
/// </summary>
public sealed class MemberGrpcService(
    MemberDirectory directory, MemberSnapshots snapshots, ProgramCatalog programs, MemberMapper mapper, IdempotentWrites idempotent, TimeProvider clock,
    IOptions<IdentityOptions> options, ResolveMetrics metrics)
    : MemberService.MemberServiceBase
{
    public override async Task<EnrollMemberResponse> EnrollMember(EnrollMemberRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var command = MemberRequests.Read(request);
        caller.RequireStore(command.Source.StoreId, "source.store_id");
        if (caller.MemberScope is { } scope)
        {
            // A mini-program brings a member into its scope by enrolling the proven phone with its own identity.
            foreach (var identity in command.Identities)
                caller.RequireOwnChannel(identity.Channel, "channel_identity.channel");
            caller.RequireOwnChannel(command.Source.Channel, "source.channel");
            if (!command.Identities.Any(i => i.Channel == scope.Channel))
                throw IdentityException.Invalid("channel_identity", $"is required: this client enrols members with its own {caller.Channel} identity");
        }
        // Counter staff and mini-programs are the callers a brand can ask for a mobile; operators and imports enter
        // what the customer or the legacy record has.
        if (options.Value.Phones.RequireMobileForNewMembers && caller.Role is ClientRole.Pos or ClientRole.Miniprogram)
            command = command with { MobileRequiredToCreate = true };
        var result = await directory.EnrollAsync(command, context.CancellationToken);
        var response = new EnrollMemberResponse { Member = caller.Visible(mapper.ToMessage(result.Member)), Created = result.Created };
        response.Merges.AddRange(result.Merges.Select(m => caller.Visible(MemberMapper.ToMessage(m))));
        return response;
    }

    public override async Task<ResolveMemberResponse> ResolveMember(ResolveMemberRequest request, ServerCallContext context)
    {
        // The hot path: cached snapshot, then the quote computed in process.
        var startedAt = Stopwatch.GetTimestamp();
        var kind = ResolveMetrics.KindOf(request.KeyCase);
        try
        {
            var caller = context.Caller();
            var (lookup, quoteContext) = MemberRequests.Read(request, clock.GetUtcNow());
            caller.RequireStore(StoreOf(request, quoteContext), "store_id");
            var (snapshot, redirectedFrom) = await snapshots.ResolveAsync(caller.Scoped(lookup), context.CancellationToken);
            var response = new ResolveMemberResponse { Member = caller.Visible(snapshot.Member), RedirectedFromMemberId = redirectedFrom ?? "" };
            if (quoteContext is { } at)
                response.Benefits = BenefitCalculator.Quote(programs.Program, snapshot, at);
            metrics.Resolved(kind, redirectedFrom is not null, startedAt);
            return response;
        }
        catch (Exception exception) when (metrics.Failed(kind, exception, startedAt))
        {
            throw; // never reached: the filter records the outcome and declines
        }
    }

    public override async Task<BindChannelIdentityResponse> BindChannelIdentity(BindChannelIdentityRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var (memberId, identities, source) = MemberRequests.Read(request);
        foreach (var identity in identities)
            caller.RequireOwnChannel(identity.Channel, "channel_identity.channel");
        caller.RequireOwnChannel(source.Channel, "source.channel");
        var result = await directory.BindAsync(memberId, identities, source, caller.MemberScope, context.CancellationToken);
        return new BindChannelIdentityResponse { Member = caller.Visible(mapper.ToMessage(result.Member)), AlreadyBound = result.AlreadyBound };
    }

    public override async Task<UpdateProfileResponse> UpdateProfile(UpdateProfileRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var (memberId, update) = MemberRequests.Read(request);
        var member = await directory.UpdateProfileAsync(memberId, update, caller.MemberScope, mayChangeBirthday: caller.Role == ClientRole.Admin,
            context.CancellationToken);
        return new UpdateProfileResponse { Member = caller.Visible(mapper.ToMessage(member)) };
    }

    public override async Task<ChangePhoneResponse> ChangePhone(ChangePhoneRequest request, ServerCallContext context)
    {
        var (memberId, phone) = MemberRequests.Read(request);
        var member = await directory.ChangePhoneAsync(memberId, phone, context.CancellationToken);
        return new ChangePhoneResponse { Member = mapper.ToMessage(member) };
    }

    public override async Task<MergeMembersResponse> MergeMembers(MergeMembersRequest request, ServerCallContext context)
    {
        var (survivorId, absorbedId, reason, actor) = MemberRequests.Read(request);
        var (survivor, merge) = await directory.MergeAsync(survivorId, absorbedId, reason, actor, context.CancellationToken);
        return new MergeMembersResponse { Member = mapper.ToMessage(survivor), Merge = MemberMapper.ToMessage(merge) };
    }

    public override async Task<GetMergeHistoryResponse> GetMergeHistory(GetMergeHistoryRequest request, ServerCallContext context)
    {
        var merges = await directory.GetMergeHistoryAsync(MemberRequests.Read(request), context.CancellationToken);
        var response = new GetMergeHistoryResponse();
        response.Merges.AddRange(merges.Select(MemberMapper.ToMessage));
        return response;
    }

    public override async Task<SetConsentResponse> SetConsent(SetConsentRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var (memberId, purpose, granted, channel) = MemberRequests.Read(request);
        caller.RequireOwnChannel(channel, "channel");
        var requestId = LoyaltyRequests.OptionalRequestId(request.RequestId);
        if (requestId is null)
        {
            var member = await directory.SetConsentAsync(memberId, purpose, granted, channel, caller.MemberScope, context.CancellationToken);
            return new SetConsentResponse { Member = caller.Visible(mapper.ToMessage(member)) };
        }
        // With a request id the decision is recorded once; a repeat replays the reply it got then.
        var key = Storage.IdempotencyKey.PerClient("consent", caller.Id, requestId, request);
        return await idempotent.RunAsync(key,
            (db, change, ct) => directory.SetConsentAsync(db, change, memberId, purpose, granted, channel, caller.MemberScope, ct),
            member => new SetConsentResponse { Member = caller.Visible(mapper.ToMessage(member)) }, r => r, context.CancellationToken);
    }

    public override async Task<EraseMemberResponse> EraseMember(EraseMemberRequest request, ServerCallContext context)
    {
        var result = await directory.EraseAsync(MemberRequests.Read(request), context.CancellationToken);
        return new EraseMemberResponse
        {
            MemberId = result.MemberId,
            ErasedAt = Timestamp.FromDateTimeOffset(result.ErasedAt),
            AlreadyErased = result.AlreadyErased,
            ReasonCode = result.Reason,
            TicketRef = result.TicketRef ?? "",
        };
    }

    /// <summary>The store a resolve is made for: <c>store_id</c>, or the benefit context's; both given must agree.</summary>
    static string? StoreOf(ResolveMemberRequest request, QuoteContext? quote)
    {
        if (request.StoreId.Length == 0)
            return quote?.StoreId; // the hot path: nothing to check, nothing to allocate
        var v = new FieldViolations();
        var store = v.Optional("store_id", request.StoreId, Storage.MemberLimits.StoreIdLength);
        if (store is not null && quote?.StoreId is { } quoted && quoted != store)
            v.Add("store_id", "must match benefit_context.store_id when both are given");
        v.ThrowIfAny();
        return store ?? quote?.StoreId;
    }
}
