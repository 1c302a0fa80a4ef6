namespace Identity.IntegrationTests.Server;

/// <summary>
/// Logs carry masked phones and ids, nothing else. Every server of the run has its whole log searched when it stops
/// (<see cref="IdentityServer.DisposeAsync"/>); this test drives one server through every kind of call and failure,
/// and shows the search does find what it looks for.
/// </summary>
public sealed class RedactionTests
{
    [Fact]
    public async Task A_server_taken_through_every_kind_of_call_logs_no_phone_key_or_name_and_the_search_would_see_one()
    {
        var server = await IdentityServer.StartAsync();
        var phone = TestData.Phone();
        var member = (await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone, name: "王秀英"))).Member;
        await server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone, BenefitContext = new BenefitContext { Channel = Channel.Pos } });
        await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => server.Members.EnrollMemberAsync(new EnrollMemberRequest { Phone = phone + "9", Source = TestData.Pos() }).ResponseAsync);
        await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => server.MembersAs("idk_wrong").ResolveMemberAsync(new ResolveMemberRequest { Phone = phone }).ResponseAsync);
        var partnerKey = await server.CreateClientAsync("redaction-partner", ClientRole.Partner);
        await new PartnerService.PartnerServiceClient(server.WithKey(partnerKey)).CheckMembershipAsync(new CheckMembershipRequest { Phone = phone });
        await server.Members.ChangePhoneAsync(new ChangePhoneRequest { MemberId = member.MemberId, NewPhone = TestData.Phone() });
        await server.Members.EraseMemberAsync(new EraseMemberRequest { MemberId = member.MemberId, ReasonCode = ErasureReason.MemberRequest });

        Assert.Empty(LogRedaction.Find(server.Logs.Lines));
        Assert.Contains(server.Logs.Lines, l => l.Contains(TestData.Masked(phone), StringComparison.Ordinal));
        // The search itself works: planted leaks are found.
        Assert.Equal(3, LogRedaction.Find([$"x {phone} y", $"Bearer {partnerKey}", "name 王秀英"]).Count);
        await server.DisposeAsync();
    }
}
