using Grpc.Core;

namespace Identity.IntegrationTests.Members;

/// <summary>Bad input gets INVALID_ARGUMENT naming every offending field, and writes nothing.</summary>
public sealed class BadInputTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    readonly MemberService.MemberServiceClient members = fixture.Server.Members;

    public static TheoryData<string, EnrollMemberRequest, string[]> BadEnrolments => new()
    {
        { "empty phone", new EnrollMemberRequest { Phone = "", Source = TestData.Pos() }, ["phone"] },
        { "whitespace phone", new EnrollMemberRequest { Phone = "   ", Source = TestData.Pos() }, ["phone"] },
        { "not a mobile", new EnrollMemberRequest { Phone = "12345678901", Source = TestData.Pos() }, ["phone"] },
        { "letters", new EnrollMemberRequest { Phone = "138-CALL-ME", Source = TestData.Pos() }, ["phone"] },
        { "oversized phone", new EnrollMemberRequest { Phone = new string('1', 500), Source = TestData.Pos() }, ["phone"] },
        { "neither phone nor identity", new EnrollMemberRequest { Source = TestData.Pos() }, ["phone"] },
        { "no source", new EnrollMemberRequest { Phone = "13800000001" }, ["source.channel"] },
        { "unknown source channel", new EnrollMemberRequest { Phone = "13800000001", Source = new Touchpoint { Channel = (Channel)99 } }, ["source.channel"] },
        {
            "unknown identity channel",
            new EnrollMemberRequest { ChannelIdentity = new ChannelIdentity { Channel = (Channel)42, ExternalId = "x" }, Source = TestData.Pos() },
            ["channel_identity.channel"]
        },
        {
            "empty external id",
            new EnrollMemberRequest { ChannelIdentity = new ChannelIdentity { Channel = Channel.WechatMiniProgram }, Source = TestData.Pos() },
            ["channel_identity.external_id"]
        },
        {
            "oversized external id",
            new EnrollMemberRequest { ChannelIdentity = TestData.MiniProgram(new string('o', 129)), Source = TestData.Pos() },
            ["channel_identity.external_id"]
        },
        {
            "union id on a pos card",
            new EnrollMemberRequest { ChannelIdentity = new ChannelIdentity { Channel = Channel.Pos, ExternalId = "card-1", UnionId = "u1" }, Source = TestData.Pos() },
            ["channel_identity.union_id"]
        },
        {
            "oversized name and store, bad birthday, unknown gender",
            new EnrollMemberRequest
            {
                Phone = "13800000001",
                Profile = new Profile { Name = new string('名', 65), Birthday = "1990-02-30", Gender = (Gender)7 },
                Source = new Touchpoint { Channel = Channel.Pos, StoreId = new string('s', 65) },
            },
            ["profile.name", "profile.gender", "profile.birthday", "source.store_id"]
        },
    };

    [Theory]
    [MemberData(nameof(BadEnrolments))]
    public async Task Bad_enrolments_name_each_bad_field_and_write_nothing(string because, EnrollMemberRequest request, string[] fields)
    {
        var before = (fixture.Server.Count("members"), fixture.Server.Count("channel_identities"));

        var error = await Rpc.FailsWith(StatusCode.InvalidArgument, members.EnrollMemberAsync(request));

        Assert.True(fields.OrderBy(f => f).SequenceEqual(error.BadFields().Distinct().OrderBy(f => f)),
            $"{because}: expected [{string.Join(", ", fields)}], got [{string.Join(", ", error.BadFields())}]");
        Assert.Equal(before, (fixture.Server.Count("members"), fixture.Server.Count("channel_identities")));
    }

    [Fact]
    public async Task A_resolve_without_a_key_names_the_missing_oneof()
    {
        var error = await Rpc.FailsWith(StatusCode.InvalidArgument, members.ResolveMemberAsync(new ResolveMemberRequest()));
        Assert.Equal(["key"], error.BadFields());
    }

    [Fact]
    public async Task Writes_addressed_by_member_id_validate_their_fields()
    {
        var bind = await Rpc.FailsWith(StatusCode.InvalidArgument, members.BindChannelIdentityAsync(new BindChannelIdentityRequest()));
        Assert.Equal(["channel_identity", "member_id"], bind.BadFields().OrderBy(f => f));

        var update = await Rpc.FailsWith(StatusCode.InvalidArgument, members.UpdateProfileAsync(new UpdateProfileRequest
        {
            MemberId = "m1", UpdateMask = new Google.Protobuf.WellKnownTypes.FieldMask { Paths = { "phone" } },
        }));
        Assert.Equal(["update_mask"], update.BadFields());

        var change = await Rpc.FailsWith(StatusCode.InvalidArgument, members.ChangePhoneAsync(new ChangePhoneRequest { MemberId = "m1", NewPhone = "110" }));
        Assert.Equal(["new_phone"], change.BadFields());

        var merge = await Rpc.FailsWith(StatusCode.InvalidArgument, members.MergeMembersAsync(new MergeMembersRequest { SurvivorMemberId = "a", AbsorbedMemberId = "b" }));
        Assert.Equal(["operator", "reason"], merge.BadFields().OrderBy(f => f));

        var erase = await Rpc.FailsWith(StatusCode.InvalidArgument, members.EraseMemberAsync(new EraseMemberRequest { MemberId = new string('m', 65), ReasonCode = ErasureReason.MemberRequest }));
        Assert.Equal(["member_id"], erase.BadFields());
    }

    [Fact]
    public async Task An_oversized_message_is_refused_clearly_and_the_server_keeps_serving()
    {
        var before = fixture.Server.Count("members");
        var huge = new EnrollMemberRequest { Phone = TestData.Phone(), Profile = new Profile { Name = new string('x', 100_000) }, Source = TestData.Pos() };

        var error = await Rpc.FailsWith(StatusCode.ResourceExhausted, members.EnrollMemberAsync(huge));
        Assert.Contains("message", error.Status.Detail, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(before, fixture.Server.Count("members"));

        var next = await members.EnrollMemberAsync(TestData.EnrollAtPos(TestData.Phone()));
        Assert.True(next.Created);
    }
}
