using System.Net;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Identity.IntegrationTests.Telemetry;

/// <summary>The Prometheus scrape after a workload: each series moves by what the workload did.</summary>
public sealed class MetricsScrapeTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    IdentityServer Server => fixture.Server;

    const string ResolveCount = "identity_resolve_duration_seconds_count";
    const string Reads = "identity_cache_reads_total";
    const string ResolveRpc = "/identity.v1.MemberService/ResolveMember";

    [Fact]
    public async Task Repeated_resolves_are_counted_by_key_kind_and_outcome_and_raise_L1_hits()
    {
        var phone = TestData.Phone();
        await Server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone));
        await Rpc.FailsWith(StatusCode.NotFound, Server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = TestData.Phone() }));
        var before = await Scrape.OfAsync(Server);

        for (var i = 0; i < 10; i++)
            await Server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone });
        await Rpc.FailsWith(StatusCode.NotFound, Server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = TestData.Phone() }));
        await Rpc.FailsWith(StatusCode.InvalidArgument, Server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = "12" }));
        var after = await Scrape.OfAsync(Server);

        Assert.Equal(10, after.Value(ResolveCount, "key_kind=phone", "outcome=found") - before.Value(ResolveCount, "key_kind=phone", "outcome=found"));
        Assert.Equal(1, after.Value(ResolveCount, "key_kind=phone", "outcome=not_found") - before.Value(ResolveCount, "key_kind=phone", "outcome=not_found"));
        Assert.Equal(1, after.Value(ResolveCount, "key_kind=phone", "outcome=invalid_argument")
                        - before.Value(ResolveCount, "key_kind=phone", "outcome=invalid_argument"));
        // Ten resolves of one phone: at least the later ones answer from L1 (the first may have to wait for the outbox read).
        Assert.True(after.Value(Reads, "level=l1", "result=hit") - before.Value(Reads, "level=l1", "result=hit") >= 5,
            $"L1 hits {before.Value(Reads, "level=l1", "result=hit")} -> {after.Value(Reads, "level=l1", "result=hit")}");
        // The histogram has sub-millisecond buckets.
        Assert.Contains(after.Samples, s => s.Name == "identity_resolve_duration_seconds_bucket" && s.Labels.GetValueOrDefault("le") == "0.0005");
        // The server's own meters are there too.
        Assert.True(after.Has("http_server_request_duration_seconds_count"));
    }

    [Fact]
    public async Task Replays_ledger_entries_and_refused_calls_are_counted()
    {
        var member = (await Server.Members.EnrollMemberAsync(TestData.EnrollAtPos(TestData.Phone()))).Member;
        var posKey = await Server.CreateClientAsync("metrics-pos", ClientRole.Pos);
        var slowKey = await Server.CreateClientAsync("metrics-slow", ClientRole.Pos, requestsPerSecond: 1);
        var before = await Scrape.OfAsync(Server);

        var order = new RecordOrderRequest
        {
            Member = new MemberKey { MemberId = member.MemberId }, Channel = Channel.Pos, OrderId = "O-" + Guid.NewGuid().ToString("N"),
            AmountFen = 10_000, PaidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        };
        await Server.Loyalty.RecordOrderAsync(order);
        await Server.Loyalty.RecordOrderAsync(order);
        await Server.Loyalty.RecordOrderAsync(order);

        await Rpc.FailsWith(StatusCode.PermissionDenied, new AdminService.AdminServiceClient(Server.WithKey(posKey)).ListClientsAsync(new ListClientsRequest()));
        var limited = 0;
        var slow = Server.MembersAs(slowKey);
        for (var i = 0; i < 20; i++)
        {
            try
            {
                await slow.ResolveMemberAsync(new ResolveMemberRequest { MemberId = member.MemberId });
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted)
            {
                limited++;
            }
        }
        await Rpc.FailsWith(StatusCode.Unauthenticated, Server.MembersAs("idk_made-up").ResolveMemberAsync(new ResolveMemberRequest { MemberId = member.MemberId }));
        var after = await Scrape.OfAsync(Server);

        double Delta(string name, params string[] labels) => after.Value(name, labels) - before.Value(name, labels);
        Assert.Equal(2, Delta("identity_idempotent_replays_total", "rpc=/identity.v1.LoyaltyService/RecordOrder"));
        Assert.Equal(1, Delta("identity_ledger_entries_total", "kind=earn"));
        Assert.Equal(1, Delta("identity_calls_refused_total", "role=pos", "rpc=/identity.v1.AdminService/ListClients", "reason=permission_denied"));
        Assert.True(limited > 0, "the 1/s client was never limited");
        Assert.Equal(limited, Delta("identity_calls_refused_total", "role=pos", $"rpc={ResolveRpc}", "reason=rate_limited"));
        Assert.Equal(1, Delta("identity_calls_refused_total", "role=none", $"rpc={ResolveRpc}", "reason=unauthenticated"));
        // Never by client: no label names one.
        Assert.DoesNotContain(after.Samples, s => s.Labels.Keys.Any(k => k.Contains("client", StringComparison.OrdinalIgnoreCase)));
    }

    [Fact]
    public async Task With_telemetry_off_there_is_no_scrape_and_the_service_works()
    {
        await using var off = await IdentityServer.StartAsync(null, "--Identity:Telemetry:Enabled=false");
        var phone = TestData.Phone();
        await off.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone));
        await off.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone });

        var (status, _) = await Scrape.GetAsync(off);
        Assert.Equal(HttpStatusCode.NotFound, status);
    }
}
