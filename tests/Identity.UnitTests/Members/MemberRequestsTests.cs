using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Identity.Service.Errors;
using Identity.Service.Members;
using Identity.V1;

namespace Identity.UnitTests.Members;

public sealed class MemberRequestsTests
{
    static Touchpoint Pos => new() { Channel = Channel.Pos, StoreId = "S001", GuideId = "G007" };

    static EnrollMemberRequest EnrollAtPos(string phone, Profile? profile = null) =>
        new() { Phone = phone, Profile = profile, Source = Pos };

    /// <summary>Runs a read that must fail and returns the fields it names, in order.</summary>
    static List<string> ViolatedFields(Action read)
    {
        var error = Assert.Throws<IdentityException>(read);
        Assert.Equal(StatusCode.InvalidArgument, error.Code);
        Assert.Equal(ErrorReasons.InvalidArgument, error.Reason);
        Assert.All(error.Violations, v => Assert.False(string.IsNullOrWhiteSpace(v.Description)));
        return error.Violations.Select(v => v.Field).ToList();
    }

    [Fact]
    public void A_valid_enrolment_reads_into_a_command_with_the_normalised_phone()
    {
        var command = MemberRequests.Read(new EnrollMemberRequest
        {
            Phone = "86-138 1234 5678",
            ChannelIdentity = new ChannelIdentity { Channel = Channel.WechatMiniProgram, ExternalId = " o-123 ", UnionId = "u-9" },
            Profile = new Profile { Name = "  李雷 ", Gender = Gender.Male, Birthday = "1990-05-04" },
            Source = Pos,
        });

        Assert.Equal("+8613812345678", command.Phone?.E164);
        Assert.Equal([new IdentityKey((int)Channel.WechatMiniProgram, "o-123"), new IdentityKey((int)Channel.WechatUnion, "u-9")], command.Identities);
        Assert.Equal(new ProfileValues("李雷", (int)Gender.Male, "1990-05-04"), command.Profile);
        Assert.Equal(new Source((int)Channel.Pos, "S001", "G007"), command.Source);
    }

    [Fact]
    public void A_phone_that_is_present_but_empty_is_rejected()
    {
        var request = new EnrollMemberRequest { Phone = "", Source = Pos };
        Assert.True(request.HasPhone);

        Assert.Equal(["phone"], ViolatedFields(() => MemberRequests.Read(request)));
    }

    [Fact]
    public void An_enrolment_by_identity_alone_has_no_phone()
    {
        var command = MemberRequests.Read(new EnrollMemberRequest
        {
            ChannelIdentity = new ChannelIdentity { Channel = Channel.Tmall, ExternalId = "buyer-1" },
            Source = new Touchpoint { Channel = Channel.Tmall },
        });

        Assert.Null(command.Phone);
        Assert.Equal([new IdentityKey((int)Channel.Tmall, "buyer-1")], command.Identities);
    }

    [Fact]
    public void An_enrolment_needs_a_phone_or_an_identity()
    {
        Assert.Equal(["phone"], ViolatedFields(() => MemberRequests.Read(new EnrollMemberRequest { Source = Pos })));
    }

    [Theory]
    [InlineData("138 1234 567")]
    [InlineData("1012345678")] // a fixed line needs its trunk 0 or +86
    [InlineData("13812345678 ext 1")]
    public void An_invalid_phone_names_the_phone_field(string phone)
    {
        Assert.Equal(["phone"], ViolatedFields(() => MemberRequests.Read(EnrollAtPos(phone))));
    }

    [Fact]
    public void An_unknown_channel_number_is_rejected()
    {
        var request = new EnrollMemberRequest
        {
            ChannelIdentity = new ChannelIdentity { Channel = (Channel)99, ExternalId = "x-1" },
            Source = Pos,
        };

        Assert.Equal(["channel_identity.channel"], ViolatedFields(() => MemberRequests.Read(request)));
    }

    [Fact]
    public void An_identity_needs_a_channel_and_an_external_id()
    {
        var request = new EnrollMemberRequest { ChannelIdentity = new ChannelIdentity(), Source = Pos };

        Assert.Equal(["channel_identity.channel", "channel_identity.external_id"], ViolatedFields(() => MemberRequests.Read(request)));
    }

    [Fact]
    public void A_name_longer_than_64_characters_is_rejected()
    {
        Assert.Equal(["profile.name"], ViolatedFields(() =>
            MemberRequests.Read(EnrollAtPos("13812345678", new Profile { Name = new string('名', 65) }))));

        var atLimit = MemberRequests.Read(EnrollAtPos("13812345678", new Profile { Name = new string('名', 64) }));
        Assert.Equal(64, atLimit.Profile.Name?.Length);
    }

    [Fact]
    public void A_union_id_is_rejected_on_a_channel_that_is_not_wechat_or_the_app()
    {
        var request = new EnrollMemberRequest
        {
            ChannelIdentity = new ChannelIdentity { Channel = Channel.Pos, ExternalId = "card-1", UnionId = "u-1" },
            Source = Pos,
        };

        Assert.Equal(["channel_identity.union_id"], ViolatedFields(() => MemberRequests.Read(request)));
    }

    [Fact]
    public void An_enrolment_needs_its_source_channel()
    {
        Assert.Equal(["source.channel"], ViolatedFields(() => MemberRequests.Read(new EnrollMemberRequest { Phone = "13812345678" })));
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var request = new EnrollMemberRequest
        {
            Phone = "not a phone",
            ChannelIdentity = new ChannelIdentity { Channel = (Channel)99, ExternalId = "x-1" },
            Profile = new Profile { Name = new string('x', 65), Gender = (Gender)7, Birthday = "1990-02-30" },
        };

        var fields = ViolatedFields(() => MemberRequests.Read(request));

        Assert.Equal(["phone", "channel_identity.channel", "profile.name", "profile.gender", "profile.birthday", "source.channel"], fields);
    }

    [Theory]
    [InlineData("1990-05-04")]
    [InlineData("2000-02-29")]
    [InlineData("1900-01-01")]
    [InlineData("--05-04")]
    [InlineData("--02-29")]
    [InlineData("--12-31")]
    public void Calendar_birthdays_with_or_without_a_year_are_accepted(string birthday)
    {
        var command = MemberRequests.Read(EnrollAtPos("13812345678", new Profile { Birthday = birthday }));

        Assert.Equal(birthday, command.Profile.Birthday);
    }

    [Theory]
    [InlineData("1990-02-30")]
    [InlineData("1990-13-01")]
    [InlineData("1999-02-29")]
    [InlineData("19900504")]
    [InlineData("1990/05/04")]
    [InlineData("1990-5-4")]
    [InlineData("04-05-1990")]
    [InlineData("1850-01-01")]
    [InlineData("2999-01-01")]
    [InlineData("--13-01")]
    [InlineData("--02-30")]
    [InlineData("--0504")]
    [InlineData("1990-05-04T00:00:00Z")]
    [InlineData("yesterday")]
    public void Birthdays_that_are_not_calendar_dates_are_rejected(string birthday)
    {
        Assert.Equal(["profile.birthday"], ViolatedFields(() =>
            MemberRequests.Read(EnrollAtPos("13812345678", new Profile { Birthday = birthday }))));
    }

    [Fact]
    public void Without_a_mask_an_update_sets_only_the_fields_given_a_value()
    {
        var (memberId, update) = MemberRequests.Read(new UpdateProfileRequest
        {
            MemberId = "m-1",
            Profile = new Profile { Name = "韩梅梅" },
        });

        Assert.Equal("m-1", memberId);
        Assert.Equal(new ProfileUpdate(true, "韩梅梅", false, 0, false, null), update);
    }

    [Fact]
    public void Without_a_mask_an_update_with_no_values_is_rejected()
    {
        Assert.Equal(["profile"], ViolatedFields(() =>
            MemberRequests.Read(new UpdateProfileRequest { MemberId = "m-1", Profile = new Profile() })));
    }

    [Fact]
    public void A_star_mask_sets_every_field_and_clears_those_without_a_value()
    {
        var (_, update) = MemberRequests.Read(new UpdateProfileRequest
        {
            MemberId = "m-1",
            Profile = new Profile { Gender = Gender.Female },
            UpdateMask = new FieldMask { Paths = { "*" } },
        });

        Assert.Equal(new ProfileUpdate(true, null, true, (int)Gender.Female, true, null), update);
    }

    [Fact]
    public void A_mask_sets_only_the_named_fields()
    {
        var (_, update) = MemberRequests.Read(new UpdateProfileRequest
        {
            MemberId = "m-1",
            Profile = new Profile { Name = "ignored", Birthday = "--05-04" },
            UpdateMask = new FieldMask { Paths = { "birthday" } },
        });

        Assert.Equal(new ProfileUpdate(false, "ignored", false, 0, true, "--05-04"), update);
    }

    [Theory]
    [InlineData("phone")]
    [InlineData("profile.name")]
    [InlineData("Name")]
    [InlineData("")]
    public void A_mask_with_an_unknown_path_is_rejected(string path)
    {
        Assert.Equal(["update_mask"], ViolatedFields(() => MemberRequests.Read(new UpdateProfileRequest
        {
            MemberId = "m-1",
            Profile = new Profile { Name = "韩梅梅" },
            UpdateMask = new FieldMask { Paths = { "name", path } },
        })));
    }

    [Fact]
    public void An_empty_mask_is_rejected()
    {
        Assert.Equal(["update_mask"], ViolatedFields(() => MemberRequests.Read(new UpdateProfileRequest
        {
            MemberId = "m-1",
            Profile = new Profile { Name = "韩梅梅" },
            UpdateMask = new FieldMask(),
        })));
    }

    [Fact]
    public void An_update_needs_a_member_id()
    {
        Assert.Equal(["member_id"], ViolatedFields(() =>
            MemberRequests.Read(new UpdateProfileRequest { Profile = new Profile { Name = "韩梅梅" } })));
    }

    [Fact]
    public void A_resolve_without_a_key_is_rejected()
    {
        Assert.Equal(["key"], ViolatedFields(() => Resolve(new ResolveMemberRequest())));
    }

    [Fact]
    public void A_resolve_by_any_written_form_of_a_phone_looks_up_its_e164()
    {
        var key = Resolve(new ResolveMemberRequest { Phone = "＋８６ １３８ １２３４ ５６７８" });

        Assert.Equal("+8613812345678", Assert.IsType<MemberLookup.ByPhone>(key).Phone.E164);
    }

    [Fact]
    public void A_resolve_by_an_invalid_phone_names_the_phone()
    {
        Assert.Equal(["phone"], ViolatedFields(() => Resolve(new ResolveMemberRequest { Phone = "12345" })));
    }

    [Fact]
    public void A_resolve_by_identity_ignores_the_union_id()
    {
        var key = Resolve(new ResolveMemberRequest
        {
            ChannelIdentity = new ChannelIdentity { Channel = Channel.WechatMiniProgram, ExternalId = "o-1", UnionId = "u-1" },
        });

        Assert.Equal(new IdentityKey((int)Channel.WechatMiniProgram, "o-1"), Assert.IsType<MemberLookup.ByIdentity>(key).Identity);
    }

    [Fact]
    public void A_phone_change_needs_a_valid_new_phone()
    {
        Assert.Equal(["new_phone"], ViolatedFields(() =>
            MemberRequests.Read(new ChangePhoneRequest { MemberId = "m-1", NewPhone = "" })));
    }

    [Fact]
    public void A_merge_needs_two_different_members_a_reason_and_an_operator()
    {
        Assert.Equal(["absorbed_member_id", "reason", "operator"], ViolatedFields(() =>
            MemberRequests.Read(new MergeMembersRequest { SurvivorMemberId = "m-1", AbsorbedMemberId = "m-1" })));
    }

#pragma warning disable CS0612 // The deprecated free-text reason is still accepted: these tests cover that.
    [Fact]
    public void An_erasure_needs_a_reason_code()
    {
        Assert.Equal(["reason_code"], ViolatedFields(() => MemberRequests.Read(new EraseMemberRequest { MemberId = "m-1", Reason = " " })));
        Assert.Equal(["reason_code"], ViolatedFields(() => MemberRequests.Read(new EraseMemberRequest { MemberId = "m-1", ReasonCode = (ErasureReason)99 })));
    }

    [Theory]
    [InlineData("PIPL 42")]
    [InlineData("王芳")]
    [InlineData("a/b")]
    [InlineData("x0123456789012345678901234567890123456789012345678901234567890123")]
    public void A_ticket_reference_is_a_bounded_token_not_free_text(string ticket)
    {
        Assert.Equal(["ticket_ref"], ViolatedFields(() =>
            MemberRequests.Read(new EraseMemberRequest { MemberId = "m-1", ReasonCode = ErasureReason.MemberRequest, TicketRef = ticket })));
    }

    [Fact]
    public void An_erasure_keeps_the_code_and_ticket_and_never_the_deprecated_free_text()
    {
        var command = MemberRequests.Read(new EraseMemberRequest { MemberId = "m-1", ReasonCode = ErasureReason.LegalOrder, TicketRef = "DSR-2026_0042" });
        Assert.Equal(new EraseCommand("m-1", ErasureReason.LegalOrder, "DSR-2026_0042"), command);

        // An older client's free text still erases; the text goes nowhere (the command has no place for it).
        var legacy = MemberRequests.Read(new EraseMemberRequest { MemberId = "m-1", Reason = "王芳 asked by phone 13800138000" });
        Assert.Equal(new EraseCommand("m-1", ErasureReason.Unspecified, null), legacy);
    }
#pragma warning restore CS0612

    static MemberLookup Resolve(ResolveMemberRequest request) => MemberRequests.Read(request, DateTimeOffset.UtcNow).Lookup;
}
