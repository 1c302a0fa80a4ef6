using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Identity.Service.Caching;
using Identity.Service.Loyalty;
using Identity.V1;

namespace Identity.Service.Members;

/// <summary><c>identity.v1.MemberService</c>: read the request, call the directory, map the reply.</summary>
public sealed class MemberGrpcService(
    MemberDirectory directory, MemberSnapshots snapshots, ProgramCatalog programs, MemberMapper mapper, TimeProvider clock)
    : MemberService.MemberServiceBase
{
    public override async Task<EnrollMemberResponse> EnrollMember(EnrollMemberRequest request, ServerCallContext context)
    {
        var result = await directory.EnrollAsync(MemberRequests.Read(request), context.CancellationToken);
        var response = new EnrollMemberResponse { Member = mapper.ToMessage(result.Member), Created = result.Created };
        response.Merges.AddRange(result.Merges.Select(MemberMapper.ToMessage));
        return response;
    }

    public override async Task<ResolveMemberResponse> ResolveMember(ResolveMemberRequest request, ServerCallContext context)
    {
        // The hot path: cached snapshot, then the quote computed in process.
        var (lookup, quoteContext) = MemberRequests.Read(request, clock.GetUtcNow());
        var (snapshot, redirectedFrom) = await snapshots.ResolveAsync(lookup, context.CancellationToken);
        var response = new ResolveMemberResponse { Member = snapshot.Member, RedirectedFromMemberId = redirectedFrom ?? "" };
        if (quoteContext is { } at)
            response.Benefits = BenefitCalculator.Quote(programs.Program, snapshot, at);
        return response;
    }

    public override async Task<BindChannelIdentityResponse> BindChannelIdentity(BindChannelIdentityRequest request, ServerCallContext context)
    {
        var (memberId, identities, source) = MemberRequests.Read(request);
        var result = await directory.BindAsync(memberId, identities, source, context.CancellationToken);
        return new BindChannelIdentityResponse { Member = mapper.ToMessage(result.Member), AlreadyBound = result.AlreadyBound };
    }

    public override async Task<UpdateProfileResponse> UpdateProfile(UpdateProfileRequest request, ServerCallContext context)
    {
        var (memberId, update) = MemberRequests.Read(request);
        var member = await directory.UpdateProfileAsync(memberId, update, context.CancellationToken);
        return new UpdateProfileResponse { Member = mapper.ToMessage(member) };
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
        var (memberId, purpose, granted, channel) = MemberRequests.Read(request);
        var member = await directory.SetConsentAsync(memberId, purpose, granted, channel, context.CancellationToken);
        return new SetConsentResponse { Member = mapper.ToMessage(member) };
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
}
