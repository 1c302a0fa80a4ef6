using Grpc.Core;
using Identity.IntegrationTests.Import;

namespace Identity.IntegrationTests.Members;

/// <summary><c>Identity:Phones:RequireMobileForNewMembers</c>: counters and mini-programs cannot create a fixed-line member.</summary>
public sealed class MobileRequiredTests : IAsyncLifetime
{
    IdentityServer server = null!;
    MemberService.MemberServiceClient pos = null!;
    MemberService.MemberServiceClient miniProgram = null!;

    public async Task InitializeAsync()
    {
        server = await IdentityServer.StartAsync(null, "--Identity:Phones:RequireMobileForNewMembers=true");
        pos = server.MembersAs(await server.CreateClientAsync("pos", ClientRole.Pos, requestsPerSecond: 1000));
        miniProgram = server.MembersAs(await server.CreateClientAsync("mini", ClientRole.Miniprogram, Channel.WechatMiniProgram, 1000));
    }

    public async Task DisposeAsync() => await server.DisposeAsync();

    [Fact]
    public async Task A_pos_cannot_create_a_member_with_a_fixed_line()
    {
        var landline = TestData.Landline();

        var error = await Rpc.FailsWith(StatusCode.InvalidArgument, pos.EnrollMemberAsync(TestData.EnrollAtPos(landline)));

        Assert.Equal(["phone"], error.BadFields());
        Assert.Equal("MOBILE_REQUIRED", error.Reason());
        Assert.DoesNotContain(landline[1..], error.Status.Detail);
        await Rpc.FailsWith(StatusCode.NotFound, server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = landline }));
    }

    [Fact]
    public async Task A_mini_program_cannot_create_a_member_with_a_fixed_line()
    {
        var request = new EnrollMemberRequest
        {
            Phone = "+86 " + TestData.Landline()[1..], ChannelIdentity = TestData.MiniProgram(TestData.OpenId()), Source = TestData.MiniProgramSource(),
        };

        var error = await Rpc.FailsWith(StatusCode.InvalidArgument, miniProgram.EnrollMemberAsync(request));

        Assert.Equal(["phone"], error.BadFields());
        Assert.Equal("MOBILE_REQUIRED", error.Reason());
    }

    [Fact]
    public async Task An_existing_fixed_line_member_is_still_enrolled_at_the_pos_and_an_admin_can_create_one()
    {
        var landline = TestData.Landline();
        var byAdmin = await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(landline));
        Assert.True(byAdmin.Created);

        var atPos = await pos.EnrollMemberAsync(TestData.EnrollAtPos("+86 " + landline[1..]));

        Assert.False(atPos.Created);
        Assert.Equal(byAdmin.Member.MemberId, atPos.Member.MemberId);
    }

    [Fact]
    public async Task An_import_creates_fixed_line_members_whatever_the_option_says()
    {
        var landline = TestData.Landline();
        var header = new ImportHeader { ImportId = "landlines-" + Guid.NewGuid().ToString("N")[..8], Source = "crm" };

        var replies = await ImportStream.RunAsync(server.WithKey(server.TestKey), header,
            [[new ImportRow { RowNumber = 1, SourceRowKey = "L1", Phone = landline, Name = "王芳" }]]);

        var outcome = Assert.Single(replies.SelectMany(r => r.Outcomes));
        Assert.Equal(ImportAcceptance.Created, outcome.Accepted?.Acceptance);
        Assert.Equal(outcome.Accepted!.MemberId, (await server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = "+86 " + landline[1..] })).Member.MemberId);
    }

    [Fact]
    public async Task A_pos_still_creates_members_with_a_mobile_in_any_form()
    {
        var phone = TestData.Phone();

        var enrolled = await pos.EnrollMemberAsync(TestData.EnrollAtPos($"+86 (0){phone}"));

        Assert.True(enrolled.Created);
    }
}
