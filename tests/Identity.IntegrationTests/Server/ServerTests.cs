using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;

namespace Identity.IntegrationTests.Server;

public sealed class ServerTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task Health_reports_serving_once_the_database_is_migrated()
    {
        var health = new Health.HealthClient(fixture.Server.Channel);
        var response = await health.CheckAsync(new HealthCheckRequest());
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, response.Status);
    }

    [Fact]
    public async Task Reflection_lists_the_member_service()
    {
        var reflection = new ServerReflection.ServerReflectionClient(fixture.Server.Channel);
        using var call = reflection.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();
        Assert.Contains("identity.v1.MemberService", services);
        Assert.Contains("grpc.health.v1.Health", services);
    }

    [Fact]
    public async Task A_second_server_on_the_same_data_directory_sees_the_same_members_and_keys()
    {
        var phone = TestData.Phone();
        var enrolled = await fixture.Server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone));

        // Same files, second process-like instance: migrations are already applied and the key file is reused.
        await using var second = await IdentityServer.StartAsync(fixture.Server.DataDirectory);
        var resolved = await second.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone });
        Assert.Equal(enrolled.Member.MemberId, resolved.Member.MemberId);
        Assert.Equal(TestData.Masked(phone), resolved.Member.MaskedPhone);
    }
}
