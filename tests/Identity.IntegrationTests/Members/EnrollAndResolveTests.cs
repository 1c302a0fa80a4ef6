using Grpc.Core;

namespace Identity.IntegrationTests.Members;

public sealed class EnrollAndResolveTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    readonly MemberService.MemberServiceClient members = fixture.Server.Members;

    [Fact]
    public async Task Enrolling_at_a_pos_creates_a_member_that_any_written_form_of_the_phone_resolves()
    {
        var phone = TestData.Phone();
        var enrolled = await members.EnrollMemberAsync(TestData.EnrollAtPos($"+86 {phone[..3]} {phone[3..7]} {phone[7..]}"));

        Assert.True(enrolled.Created);
        Assert.Equal(TestData.Masked(phone), enrolled.Member.MaskedPhone);
        Assert.Equal(86, enrolled.Member.PhoneCountryCode);
        Assert.Equal(MemberState.Active, enrolled.Member.State);
        Assert.Equal("李雷", enrolled.Member.Profile.Name);
        Assert.Equal(Channel.Pos, enrolled.Member.Enrollment.Channel);
        Assert.Equal("S001", enrolled.Member.Enrollment.StoreId);
        Assert.Equal("G007", enrolled.Member.Enrollment.GuideId);

        foreach (var form in new[]
                 {
                     phone, TestData.CrmForm(phone), TestData.FullWidthForm(phone), $"0086{phone}", $"({phone[..3]}) {phone[3..]}",
                     // A trunk 0 in front of the mobile, alone or after the country code.
                     $"0{phone}", $"+86 (0){phone[..3]} {phone[3..7]} {phone[7..]}", $"0086 (0){phone}", $"86 0{phone}",
                 })
        {
            var resolved = await members.ResolveMemberAsync(new ResolveMemberRequest { Phone = form });
            Assert.Equal(enrolled.Member.MemberId, resolved.Member.MemberId);
            Assert.Equal("", resolved.RedirectedFromMemberId);
        }
    }

    [Fact]
    public async Task A_member_enrolled_with_a_trunk_0_mobile_is_that_mobile()
    {
        var phone = TestData.Phone();
        var enrolled = await members.EnrollMemberAsync(TestData.EnrollAtPos($"0086 (0){phone[..3]} {phone[3..7]} {phone[7..]}"));

        Assert.True(enrolled.Created);
        Assert.Equal(TestData.Masked(phone), enrolled.Member.MaskedPhone);
        var again = await members.EnrollMemberAsync(TestData.EnrollAtPos(phone));
        Assert.False(again.Created);
        Assert.Equal(enrolled.Member.MemberId, again.Member.MemberId);
    }

    [Fact]
    public async Task A_fixed_line_is_a_member_phone_that_any_written_form_resolves()
    {
        var landline = TestData.Landline(); // e.g. 075588881234
        var area = landline.StartsWith("0755", StringComparison.Ordinal) ? landline[1..4] : landline[1..3];
        var subscriber = landline[(area.Length + 1)..];
        var enrolled = await members.EnrollMemberAsync(TestData.EnrollAtPos($"(0{area}) {subscriber[..4]}-{subscriber[4..]}"));

        Assert.True(enrolled.Created);
        Assert.Equal(86, enrolled.Member.PhoneCountryCode);
        Assert.Equal($"0{area}****{subscriber[^4..]}", enrolled.Member.MaskedPhone);
        foreach (var form in new[] { landline, $"+86 {area} {subscriber}", $"0086 (0){area}-{subscriber}", $"86-0{area}-{subscriber}", $"0{area}/{subscriber}" })
        {
            var resolved = await members.ResolveMemberAsync(new ResolveMemberRequest { Phone = form });
            Assert.Equal(enrolled.Member.MemberId, resolved.Member.MemberId);
        }

        // Without its trunk 0 or country code a fixed line is ambiguous, and an IP-dial prefix in front is refused.
        foreach (var form in new[] { $"{area}{subscriber}", $"17951 0{area} {subscriber}" })
        {
            var error = await Rpc.FailsWith(StatusCode.InvalidArgument, members.ResolveMemberAsync(new ResolveMemberRequest { Phone = form }));
            Assert.Equal(["phone"], error.BadFields());
        }
    }

    [Fact]
    public async Task Enrolling_an_existing_phone_returns_the_same_member_and_binds_the_given_identity()
    {
        var phone = TestData.Phone();
        var first = await members.EnrollMemberAsync(TestData.EnrollAtPos(phone));
        var openId = TestData.OpenId();

        var again = await members.EnrollMemberAsync(new EnrollMemberRequest
        {
            Phone = TestData.CrmForm(phone),
            ChannelIdentity = TestData.MiniProgram(openId),
            Profile = new Profile { Name = "someone else", Birthday = "2001-01-01" },
            Source = TestData.MiniProgramSource(),
        });

        Assert.False(again.Created);
        Assert.Equal(first.Member.MemberId, again.Member.MemberId);
        Assert.Equal("李雷", again.Member.Profile.Name); // enrolment never overwrites what the member told us
        Assert.Equal("1990-05-04", again.Member.Profile.Birthday);
        Assert.Equal(Channel.Pos, again.Member.Enrollment.Channel);
        Assert.Contains(again.Member.ChannelIdentities, i => i.Channel == Channel.WechatMiniProgram && i.ExternalId == openId);
        Assert.True(again.Member.Version > first.Member.Version);

        // Repeating exactly the same call changes nothing at all.
        var repeat = await members.EnrollMemberAsync(new EnrollMemberRequest
        {
            Phone = phone, ChannelIdentity = TestData.MiniProgram(openId), Source = TestData.MiniProgramSource(),
        });
        Assert.False(repeat.Created);
        Assert.Equal(again.Member.Version, repeat.Member.Version);
    }

    [Fact]
    public async Task A_bound_openid_resolves_to_the_member_enrolled_by_phone()
    {
        var phone = TestData.Phone();
        var enrolled = await members.EnrollMemberAsync(TestData.EnrollAtPos(phone));
        var openId = TestData.OpenId();

        var bound = await members.BindChannelIdentityAsync(new BindChannelIdentityRequest
        {
            MemberId = enrolled.Member.MemberId, ChannelIdentity = TestData.MiniProgram(openId), Source = TestData.MiniProgramSource(),
        });
        Assert.False(bound.AlreadyBound);

        var byOpenId = await members.ResolveMemberAsync(new ResolveMemberRequest { ChannelIdentity = TestData.MiniProgram(openId) });
        Assert.Equal(enrolled.Member.MemberId, byOpenId.Member.MemberId);
        Assert.Equal(TestData.Masked(phone), byOpenId.Member.MaskedPhone);

        var rebind = await members.BindChannelIdentityAsync(new BindChannelIdentityRequest
        {
            MemberId = enrolled.Member.MemberId, ChannelIdentity = TestData.MiniProgram(openId),
        });
        Assert.True(rebind.AlreadyBound);
        Assert.Equal(bound.Member.Version, rebind.Member.Version);
    }

    [Fact]
    public async Task Openids_of_two_wechat_apps_with_one_unionid_land_on_one_member()
    {
        var unionId = "u" + TestData.OpenId();
        var fan = await members.EnrollMemberAsync(TestData.EnrollFan(TestData.OpenId(), unionId));
        var officialAccountOpenId = TestData.OpenId();

        var viaOfficialAccount = await members.EnrollMemberAsync(new EnrollMemberRequest
        {
            ChannelIdentity = new ChannelIdentity { Channel = Channel.WechatOfficialAccount, ExternalId = officialAccountOpenId, UnionId = unionId },
            Source = new Touchpoint { Channel = Channel.WechatOfficialAccount },
        });

        Assert.False(viaOfficialAccount.Created);
        Assert.Equal(fan.Member.MemberId, viaOfficialAccount.Member.MemberId);
        Assert.Equal(3, viaOfficialAccount.Member.ChannelIdentities.Count);
        var byUnion = await members.ResolveMemberAsync(new ResolveMemberRequest
        {
            ChannelIdentity = new ChannelIdentity { Channel = Channel.WechatUnion, ExternalId = unionId },
        });
        Assert.Equal(fan.Member.MemberId, byUnion.Member.MemberId);
    }

    [Fact]
    public async Task A_fan_who_proves_a_new_phone_keeps_their_member_and_gains_the_phone()
    {
        var openId = TestData.OpenId();
        var fan = await members.EnrollMemberAsync(TestData.EnrollFan(openId));
        Assert.True(fan.Created);
        Assert.Equal("", fan.Member.MaskedPhone);

        var phone = TestData.Phone();
        var proven = await members.EnrollMemberAsync(new EnrollMemberRequest
        {
            Phone = phone, ChannelIdentity = TestData.MiniProgram(openId), Source = TestData.MiniProgramSource(),
        });

        Assert.False(proven.Created);
        Assert.Empty(proven.Merges);
        Assert.Equal(fan.Member.MemberId, proven.Member.MemberId);
        Assert.Equal(TestData.Masked(phone), proven.Member.MaskedPhone);
    }

    [Fact]
    public async Task Unknown_keys_are_not_found()
    {
        var byPhone = await Rpc.FailsWith(StatusCode.NotFound, members.ResolveMemberAsync(new ResolveMemberRequest { Phone = TestData.Phone() }));
        Assert.Equal("MEMBER_NOT_FOUND", byPhone.Reason());
        await Rpc.FailsWith(StatusCode.NotFound,
            members.ResolveMemberAsync(new ResolveMemberRequest { ChannelIdentity = TestData.MiniProgram(TestData.OpenId()) }));
        await Rpc.FailsWith(StatusCode.NotFound, members.ResolveMemberAsync(new ResolveMemberRequest { MemberId = "no-such-member" }));
    }

    [Fact]
    public async Task Profile_updates_touch_only_the_masked_fields_and_change_the_version()
    {
        var enrolled = await members.EnrollMemberAsync(TestData.EnrollAtPos(TestData.Phone()));

        var updated = await members.UpdateProfileAsync(new UpdateProfileRequest
        {
            MemberId = enrolled.Member.MemberId,
            Profile = new Profile { Name = "韩梅梅", Gender = Gender.Female, Birthday = "1991-02-03" },
            UpdateMask = new Google.Protobuf.WellKnownTypes.FieldMask { Paths = { "name" } },
        });

        Assert.Equal("韩梅梅", updated.Member.Profile.Name);
        Assert.Equal(Gender.Male, updated.Member.Profile.Gender);
        Assert.Equal("1990-05-04", updated.Member.Profile.Birthday);
        Assert.True(updated.Member.Version > enrolled.Member.Version);

        var cleared = await members.UpdateProfileAsync(new UpdateProfileRequest
        {
            MemberId = enrolled.Member.MemberId,
            Profile = new Profile(),
            UpdateMask = new Google.Protobuf.WellKnownTypes.FieldMask { Paths = { "birthday" } },
        });
        Assert.Equal("", cleared.Member.Profile.Birthday);
        Assert.Equal("韩梅梅", cleared.Member.Profile.Name);
    }

    [Fact]
    public async Task Changing_phone_moves_the_member_to_the_new_number_only_when_it_is_free()
    {
        var oldPhone = TestData.Phone();
        var member = (await members.EnrollMemberAsync(TestData.EnrollAtPos(oldPhone))).Member;
        var newPhone = TestData.Phone();

        var changed = await members.ChangePhoneAsync(new ChangePhoneRequest { MemberId = member.MemberId, NewPhone = TestData.CrmForm(newPhone) });
        Assert.Equal(TestData.Masked(newPhone), changed.Member.MaskedPhone);
        Assert.Equal(member.MemberId, (await members.ResolveMemberAsync(new ResolveMemberRequest { Phone = newPhone })).Member.MemberId);
        await Rpc.FailsWith(StatusCode.NotFound, members.ResolveMemberAsync(new ResolveMemberRequest { Phone = oldPhone }));

        var other = (await members.EnrollMemberAsync(TestData.EnrollAtPos(TestData.Phone()))).Member;
        var taken = await Rpc.FailsWith(StatusCode.FailedPrecondition,
            members.ChangePhoneAsync(new ChangePhoneRequest { MemberId = other.MemberId, NewPhone = newPhone }));
        Assert.Equal("PHONE_BELONGS_TO_ANOTHER_MEMBER", taken.Reason());
        var otherNow = await members.ResolveMemberAsync(new ResolveMemberRequest { MemberId = other.MemberId });
        Assert.Equal(other.Version, otherNow.Member.Version);
    }
}
