using System.Diagnostics;
using Grpc.Core;
using Identity.Service.Security;
using Identity.Service.Telemetry;

namespace Identity.IntegrationTests.Security;

/// <summary>
/// Floods stay cheap: refused calls are counted, one audit row per client, RPC, outcome and minute; unknown keys are
/// refused from memory, without a store query per call; audit rows leave after their retention.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class AuditAndFloodTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    IdentityServer Server => fixture.Server;

    [Fact]
    public async Task A_flood_of_refused_calls_writes_a_bounded_number_of_counted_audit_rows()
    {
        var key = await Server.CreateClientAsync("noisy-partner", ClientRole.Partner, requestsPerSecond: 20);
        var members = Server.MembersAs(key);
        const int Calls = 600;
        var codes = new System.Collections.Concurrent.ConcurrentBag<StatusCode>();
        await Parallel.ForEachAsync(Enumerable.Range(0, Calls), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (_, _) =>
        {
            try
            {
                await members.ResolveMemberAsync(new ResolveMemberRequest { Phone = "13800138000" });
                codes.Add(StatusCode.OK);
            }
            catch (RpcException e)
            {
                codes.Add(e.StatusCode);
            }
        });
        Assert.All(codes, c => Assert.True(c is StatusCode.PermissionDenied or StatusCode.ResourceExhausted, $"got {c}"));

        var clientId = (await Server.Admin.ListClientsAsync(new ListClientsRequest())).Clients.Single(c => c.KeyPrefix == key[..10]).ClientId;
        var events = (await Server.Admin.ListAuditEventsAsync(new ListAuditEventsRequest { ClientId = clientId, PageSize = 100 })).Events;
        // A row per outcome and minute (the flood may straddle a minute boundary), and every refusal counted.
        Assert.InRange(events.Count, 1, 4);
        Assert.Equal(Calls, events.Sum(e => e.Count));
        Assert.Contains(events, e => e.Outcome == "PERMISSION_DENIED");
    }

    [Fact]
    public async Task Unknown_keys_are_refused_without_a_store_query_per_call()
    {
        var before = Server.Metrics.Sum(SecurityMetrics.ClientLoads);
        var stopwatch = Stopwatch.StartNew();
        for (var i = 0; i < 500; i++)
        {
            var refused = await Rpc.FailsWith(StatusCode.Unauthenticated,
                Server.MembersAs($"idk_made-up-{i}").ResolveMemberAsync(new ResolveMemberRequest { Phone = "13800138000" }));
            Assert.Equal("UNAUTHENTICATED", refused.Reason());
        }
        // At most one reload of the clients per second, however many keys are tried.
        var allowed = (long)Math.Ceiling(stopwatch.Elapsed.TotalSeconds / ClientRegistry.UnknownKeyReload.TotalSeconds) + 1;
        Assert.InRange(Server.Metrics.Sum(SecurityMetrics.ClientLoads) - before, 0, allowed);
        // A missing key is told how to send one.
        var missing = await Rpc.FailsWith(StatusCode.Unauthenticated, new MemberService.MemberServiceClient(Server.Channel).ResolveMemberAsync(new ResolveMemberRequest { Phone = "13800138000" }));
        Assert.Contains("authorization: Bearer", missing.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Audit_rows_older_than_the_retention_are_removed_by_maintenance()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        await using var server = await IdentityServer.StartAsync(null, clock, "--Identity:Maintenance:IntervalMinutes=0", "--Identity:Maintenance:AuditRetentionDays=30");
        var partner = new PartnerService.PartnerServiceClient(server.WithKey(await server.CreateClientAsync("partner", ClientRole.Partner)));
        await partner.CheckMembershipAsync(new CheckMembershipRequest { Phone = TestData.Phone() });
        Assert.NotEmpty((await server.Admin.ListAuditEventsAsync(new ListAuditEventsRequest { PageSize = 100 })).Events);

        clock.Advance(TimeSpan.FromDays(31));
        var maintenance = await server.Loyalty.RunMaintenanceAsync(new RunMaintenanceRequest());
        Assert.True(maintenance.AuditEventsPruned > 0);
        var left = (await server.Admin.ListAuditEventsAsync(new ListAuditEventsRequest { PageSize = 100 })).Events;
        Assert.All(left, e => Assert.True(e.OccurredAt.ToDateTimeOffset() > clock.GetUtcNow().AddDays(-30), $"{e.Rpc} at {e.OccurredAt} outlived the retention"));
    }
}
