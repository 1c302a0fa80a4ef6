using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;

namespace Identity.IntegrationTests.Security;

[Collection(SerialCollection.Name)]
public sealed class ScopeAndRateTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    IdentityServer Server => fixture.Server;

    static RecordOrderRequest Order(string phone, string store) => new()
    {
        Member = new MemberKey { Phone = phone }, Channel = Channel.Pos, OrderId = Guid.NewGuid().ToString("N"), StoreId = store, AmountFen = 1_000,
        PaidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
    };

    [Fact]
    public async Task A_pos_key_writes_only_for_its_stores_and_a_miniprogram_key_only_for_its_channel()
    {
        var phone = TestData.Phone();
        await Server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone));
        var pos = Server.LoyaltyAs(await Server.CreateClientAsync("till", ClientRole.Pos, stores: ["S001", "S002"]));

        await pos.RecordOrderAsync(Order(phone, "S002"));
        var otherStore = await Rpc.FailsWith(StatusCode.PermissionDenied, pos.RecordOrderAsync(Order(phone, "S999")));
        Assert.Contains("store", otherStore.Status.Detail, StringComparison.OrdinalIgnoreCase);
        var noStore = await Rpc.FailsWith(StatusCode.InvalidArgument, pos.RecordOrderAsync(Order(phone, "")));
        Assert.Contains("store_id", noStore.BadFields());

        var app = Server.MembersAs(await Server.CreateClientAsync("mp", ClientRole.Miniprogram, Channel.WechatMiniProgram));
        // A member enters a mini-program's scope by proving the phone with one of its openids.
        var member = (await app.EnrollMemberAsync(new EnrollMemberRequest
        {
            Phone = phone, ChannelIdentity = TestData.MiniProgram(TestData.OpenId()), Source = TestData.MiniProgramSource(),
        })).Member;
        await app.BindChannelIdentityAsync(new BindChannelIdentityRequest { MemberId = member.MemberId, ChannelIdentity = TestData.MiniProgram(TestData.OpenId()) });
        await Rpc.FailsWith(StatusCode.PermissionDenied, app.BindChannelIdentityAsync(new BindChannelIdentityRequest
        {
            MemberId = member.MemberId, ChannelIdentity = new ChannelIdentity { Channel = Channel.WechatOfficialAccount, ExternalId = TestData.OpenId() },
        }));
        await Rpc.FailsWith(StatusCode.PermissionDenied, app.EraseMemberAsync(new EraseMemberRequest { MemberId = member.MemberId, ReasonCode = ErasureReason.MemberRequest }));
    }

    [Fact]
    public async Task A_revoked_key_is_refused_at_once()
    {
        var created = await Server.Admin.CreateClientAsync(new CreateClientRequest { Name = "to-revoke-" + Guid.NewGuid().ToString("N")[..6], Role = ClientRole.Pos });
        var pos = Server.LoyaltyAs(created.Key);
        await pos.GetProgramAsync(new GetProgramRequest());

        await Server.Admin.RevokeClientAsync(new RevokeClientRequest { ClientId = created.Client.ClientId });

        var refused = await Rpc.FailsWith(StatusCode.Unauthenticated, pos.GetProgramAsync(new GetProgramRequest()));
        Assert.Contains("revoked", refused.Status.Detail, StringComparison.Ordinal);
        await Rpc.FailsWith(StatusCode.Unauthenticated, Server.LoyaltyAs("idk_not-a-key").GetProgramAsync(new GetProgramRequest()));
    }

    [Fact]
    public async Task A_flooding_client_is_told_to_back_off_while_another_client_keeps_its_latency()
    {
        var phone = TestData.Phone();
        await Server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone));
        var flooder = Server.LoyaltyAs(await Server.CreateClientAsync("flood", ClientRole.Pos, requestsPerSecond: 20));
        var steady = Server.LoyaltyAs(await Server.CreateClientAsync("steady", ClientRole.Pos, requestsPerSecond: 1000));

        async Task<double> MedianMsAsync(int calls)
        {
            var times = new List<double>();
            for (var i = 0; i < calls; i++)
            {
                var watch = Stopwatch.StartNew();
                await steady.RecordOrderAsync(Order(phone, "S001"));
                times.Add(watch.Elapsed.TotalMilliseconds);
            }
            times.Sort();
            return times[times.Count / 2];
        }

        var before = await MedianMsAsync(30);

        var exhausted = 0;
        var admitted = 0;
        RpcException? sample = null;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        // Eight calls always in flight, retried at once whatever the answer: a misbehaving till.
        var flood = Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await flooder.RecordOrderAsync(Order(phone, "S001"));
                    Interlocked.Increment(ref admitted);
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted)
                {
                    Interlocked.Increment(ref exhausted);
                    sample ??= e;
                }
            }
        })).ToList();
        await Task.Delay(300);
        var during = await MedianMsAsync(30);
        await Task.WhenAll(flood);

        Assert.True(exhausted > 0, "the flooding client was never limited");
        // 20 requests/s with one second of burst: about 20 + 3 x 20 calls get through in 3 s, however hard it pushes.
        Assert.True(admitted <= 100, $"{admitted} of the flood's calls got through");
        var retry = sample!.GetRpcStatus()!.GetDetail<RetryInfo>();
        Assert.NotNull(retry);
        Assert.True(retry.RetryDelay.ToTimeSpan() > TimeSpan.Zero);
        // Loopback on 2 shared cores: the flood's rejected calls still cost CPU, so allow some slack, but not the queueing
        // that admitting the flood's writes ahead of the steady client's would cause.
        Assert.True(during <= Math.Max(6 * before, 50), $"the steady client's median went from {before:0.0} ms to {during:0.0} ms during the flood");
    }
}
