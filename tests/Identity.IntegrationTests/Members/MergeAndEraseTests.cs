using Grpc.Core;

namespace Identity.IntegrationTests.Members;

public sealed class MergeAndEraseTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    readonly MemberService.MemberServiceClient members = fixture.Server.Members;

    [Fact]
    public async Task A_fan_whose_openid_proves_a_members_phone_is_merged_into_that_member()
    {
        var phone = TestData.Phone();
        var member = (await members.EnrollMemberAsync(TestData.EnrollAtPos(phone))).Member;
        var openId = TestData.OpenId();
        var fan = (await members.EnrollMemberAsync(new EnrollMemberRequest
        {
            ChannelIdentity = TestData.MiniProgram(openId),
            Profile = new Profile { Birthday = "--07-15" },
            Source = TestData.MiniProgramSource(),
        })).Member;
        Assert.NotEqual(member.MemberId, fan.MemberId);

        var proven = await members.EnrollMemberAsync(new EnrollMemberRequest
        {
            Phone = TestData.FullWidthForm(phone), ChannelIdentity = TestData.MiniProgram(openId), Source = TestData.MiniProgramSource(),
        });

        Assert.False(proven.Created);
        Assert.Equal(member.MemberId, proven.Member.MemberId);
        var merge = Assert.Single(proven.Merges);
        Assert.Equal(MergeKind.PhoneProof, merge.Kind);
        Assert.Equal(member.MemberId, merge.SurvivorMemberId);
        Assert.Equal(fan.MemberId, merge.AbsorbedMemberId);
        Assert.Contains(merge.MovedIdentities, i => i.ExternalId == openId);
        Assert.Equal("1990-05-04", proven.Member.Profile.Birthday); // the survivor's own value wins

        // The absorbed id keeps working and says where it went; the openid now belongs to the survivor.
        var redirected = await members.ResolveMemberAsync(new ResolveMemberRequest { MemberId = fan.MemberId });
        Assert.Equal(member.MemberId, redirected.Member.MemberId);
        Assert.Equal(fan.MemberId, redirected.RedirectedFromMemberId);
        var byOpenId = await members.ResolveMemberAsync(new ResolveMemberRequest { ChannelIdentity = TestData.MiniProgram(openId) });
        Assert.Equal(member.MemberId, byOpenId.Member.MemberId);

        var history = await members.GetMergeHistoryAsync(new GetMergeHistoryRequest { MemberId = fan.MemberId });
        Assert.Equal(merge.MergeId, Assert.Single(history.Merges).MergeId);
    }

    [Fact]
    public async Task An_identity_of_a_member_with_a_different_phone_is_never_taken_and_nothing_changes()
    {
        var openId = TestData.OpenId();
        var owner = (await members.EnrollMemberAsync(new EnrollMemberRequest
        {
            Phone = TestData.Phone(), ChannelIdentity = TestData.MiniProgram(openId), Source = TestData.MiniProgramSource(),
        })).Member;
        var otherPhone = TestData.Phone();
        var membersBefore = fixture.Server.Count("members");

        var viaEnroll = await Rpc.FailsWith(StatusCode.FailedPrecondition, members.EnrollMemberAsync(new EnrollMemberRequest
        {
            Phone = otherPhone, ChannelIdentity = TestData.MiniProgram(openId), Source = TestData.MiniProgramSource(),
        }));
        Assert.Equal("IDENTITY_BOUND_TO_ANOTHER_MEMBER", viaEnroll.Reason());
        Assert.Equal(membersBefore, fixture.Server.Count("members"));
        await Rpc.FailsWith(StatusCode.NotFound, members.ResolveMemberAsync(new ResolveMemberRequest { Phone = otherPhone }));

        var other = (await members.EnrollMemberAsync(TestData.EnrollAtPos(otherPhone))).Member;
        var viaBind = await Rpc.FailsWith(StatusCode.FailedPrecondition, members.BindChannelIdentityAsync(new BindChannelIdentityRequest
        {
            MemberId = other.MemberId, ChannelIdentity = TestData.MiniProgram(openId),
        }));
        Assert.Equal("IDENTITY_BOUND_TO_ANOTHER_MEMBER", viaBind.Reason());

        var ownerNow = await members.ResolveMemberAsync(new ResolveMemberRequest { ChannelIdentity = TestData.MiniProgram(openId) });
        Assert.Equal(owner.MemberId, ownerNow.Member.MemberId);
        Assert.Equal(owner.Version, ownerNow.Member.Version);
    }

    [Fact]
    public async Task An_operator_merge_keeps_the_survivors_phone_moves_identities_and_is_idempotent()
    {
        var survivorPhone = TestData.Phone();
        var absorbedPhone = TestData.Phone();
        var survivor = (await members.EnrollMemberAsync(new EnrollMemberRequest { Phone = survivorPhone, Source = TestData.Pos() })).Member;
        var absorbedOpenId = TestData.OpenId();
        var absorbed = (await members.EnrollMemberAsync(new EnrollMemberRequest
        {
            Phone = absorbedPhone,
            ChannelIdentity = TestData.MiniProgram(absorbedOpenId),
            Profile = new Profile { Name = "王芳", Gender = Gender.Female },
            Source = TestData.MiniProgramSource(),
        })).Member;

        var request = new MergeMembersRequest
        {
            SurvivorMemberId = survivor.MemberId, AbsorbedMemberId = absorbed.MemberId, Reason = "duplicate found by store S001", Operator = "ops-anna",
        };
        var merged = await members.MergeMembersAsync(request);

        Assert.Equal(survivor.MemberId, merged.Member.MemberId);
        Assert.Equal(TestData.Masked(survivorPhone), merged.Member.MaskedPhone);
        Assert.Equal("王芳", merged.Member.Profile.Name); // gaps are filled from the absorbed member
        Assert.Contains(merged.Member.ChannelIdentities, i => i.ExternalId == absorbedOpenId);
        Assert.Equal(MergeKind.Operator, merged.Merge.Kind);
        Assert.Equal("ops-anna", merged.Merge.Actor);
        Assert.Equal(["name", "gender"], merged.Merge.FilledProfileFields);

        await Rpc.FailsWith(StatusCode.NotFound, members.ResolveMemberAsync(new ResolveMemberRequest { Phone = absorbedPhone }));
        var redirected = await members.ResolveMemberAsync(new ResolveMemberRequest { MemberId = absorbed.MemberId });
        Assert.Equal(survivor.MemberId, redirected.Member.MemberId);

        var repeated = await members.MergeMembersAsync(request);
        Assert.Equal(merged.Merge.MergeId, repeated.Merge.MergeId);
        Assert.Equal(merged.Member.Version, repeated.Member.Version);

        // The absorbed phone is free again: enrolling it makes a new member.
        var reEnrolled = await members.EnrollMemberAsync(new EnrollMemberRequest { Phone = absorbedPhone, Source = TestData.Pos() });
        Assert.True(reEnrolled.Created);
    }

    [Fact]
    public async Task Merge_chains_resolve_in_one_hop_and_history_shows_every_merge()
    {
        var a = (await members.EnrollMemberAsync(TestData.EnrollFan(TestData.OpenId()))).Member;
        var b = (await members.EnrollMemberAsync(TestData.EnrollFan(TestData.OpenId()))).Member;
        var c = (await members.EnrollMemberAsync(TestData.EnrollAtPos(TestData.Phone()))).Member;

        await members.MergeMembersAsync(new MergeMembersRequest { SurvivorMemberId = b.MemberId, AbsorbedMemberId = a.MemberId, Reason = "dup", Operator = "ops" });
        await members.MergeMembersAsync(new MergeMembersRequest { SurvivorMemberId = c.MemberId, AbsorbedMemberId = b.MemberId, Reason = "dup", Operator = "ops" });

        var fromA = await members.ResolveMemberAsync(new ResolveMemberRequest { MemberId = a.MemberId });
        Assert.Equal(c.MemberId, fromA.Member.MemberId);
        Assert.Equal(2, fromA.Member.ChannelIdentities.Count);
        var history = await members.GetMergeHistoryAsync(new GetMergeHistoryRequest { MemberId = c.MemberId });
        Assert.Equal([b.MemberId, a.MemberId], history.Merges.Select(m => m.AbsorbedMemberId));

        // A merged member cannot absorb or be absorbed again.
        var again = await Rpc.FailsWith(StatusCode.FailedPrecondition, members.MergeMembersAsync(new MergeMembersRequest
        {
            SurvivorMemberId = a.MemberId, AbsorbedMemberId = c.MemberId, Reason = "dup", Operator = "ops",
        }));
        Assert.Equal("MEMBER_ALREADY_MERGED", again.Reason());
        var self = await Rpc.FailsWith(StatusCode.InvalidArgument, members.MergeMembersAsync(new MergeMembersRequest
        {
            SurvivorMemberId = c.MemberId, AbsorbedMemberId = c.MemberId, Reason = "dup", Operator = "ops",
        }));
        Assert.Contains("absorbed_member_id", self.BadFields());
    }

    [Fact]
    public async Task Erasure_removes_every_personal_key_and_is_idempotent()
    {
        var phone = TestData.Phone();
        var openId = TestData.OpenId();
        var member = (await members.EnrollMemberAsync(new EnrollMemberRequest
        {
            Phone = phone, ChannelIdentity = TestData.MiniProgram(openId), Profile = new Profile { Name = "张伟" }, Source = TestData.Pos(),
        })).Member;

        var erased = await members.EraseMemberAsync(new EraseMemberRequest { MemberId = member.MemberId, ReasonCode = ErasureReason.MemberRequest, TicketRef = "PIPL-42" });
        Assert.False(erased.AlreadyErased);

        await Rpc.FailsWith(StatusCode.NotFound, members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone }));
        await Rpc.FailsWith(StatusCode.NotFound, members.ResolveMemberAsync(new ResolveMemberRequest { ChannelIdentity = TestData.MiniProgram(openId) }));
        var byId = await Rpc.FailsWith(StatusCode.NotFound, members.ResolveMemberAsync(new ResolveMemberRequest { MemberId = member.MemberId }));
        Assert.Equal("MEMBER_ERASED", byId.Reason());

        var again = await members.EraseMemberAsync(new EraseMemberRequest { MemberId = member.MemberId, ReasonCode = ErasureReason.MemberRequest, TicketRef = "PIPL-42" });
        Assert.True(again.AlreadyErased);
        Assert.Equal(erased.ErasedAt, again.ErasedAt);

        // The phone and openid are free: the person can come back as a new member.
        var back = await members.EnrollMemberAsync(new EnrollMemberRequest
        {
            Phone = phone, ChannelIdentity = TestData.MiniProgram(openId), Source = TestData.Pos(),
        });
        Assert.True(back.Created);
        Assert.NotEqual(member.MemberId, back.Member.MemberId);
    }
}
