using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Identity.Service.Caching;
using StackExchange.Redis;

namespace Identity.IntegrationTests.Caching;

/// <summary>
/// Writes made while Redis misbehaves, every fault against every kind of write, on three instances sharing one store
/// and one Redis: A writes, B caches in L1 and Redis, C has no L1 (it reads Redis on every call, so a stale Redis entry
/// shows there). A reads its own write at once; B and C within the bound; an erased member is never served again.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class FaultMatrixTests(FaultMatrixTests.Cluster cluster) : IClassFixture<FaultMatrixTests.Cluster>
{
    // Short on purpose (the default is 1 s), so the matrix stays quick.
    public const int BoundMilliseconds = 600;

    // Slack for the calls themselves on a busy machine, on top of the bound.
    // Every read that misses the caches goes to the store (network round trips on PostgreSQL), on a loaded 2-core machine.
    const int CallSlackMilliseconds = 600;

    public enum Fault { ClientPause, DebugSleep, SigStopUntilBreakerOpens, Kill, ClientKillEvery150Ms }

    public enum Write { OrderChangesTier, ProfileUpdate, PhoneChange, Merge, Erase, Import }

    public static TheoryData<Fault, Write> Matrix()
    {
        var data = new TheoryData<Fault, Write>();
        foreach (var fault in System.Enum.GetValues<Fault>())
            foreach (var write in System.Enum.GetValues<Write>())
                data.Add(fault, write);
        return data;
    }

    [Theory]
    [MemberData(nameof(Matrix))]
    public async Task A_write_during_a_redis_fault_is_read_at_once_by_its_writer_and_within_the_bound_elsewhere(Fault fault, Write write)
    {
        var (a, b, c) = (cluster.A, cluster.B, cluster.C);
        var scenario = await Scenario.CreateAsync(a, write);
        // Every instance has the old state cached (L1 on A and B, Redis for all).
        foreach (var server in cluster.All)
            for (var i = 0; i < 2; i++)
                Assert.True(await scenario.ShowsOldAsync(server), $"{Name(server)} did not serve the member before the fault");

        await using var faulted = await StartAsync(fault, a);
        await scenario.WriteAsync(a);
        var acknowledged = Stopwatch.StartNew();

        // The writer reads its own write at once.
        Assert.True(await scenario.ShowsNewAsync(a), $"{fault}/{write}: A did not read its own write");
        if (write == Write.Erase)
            foreach (var server in cluster.All)
                Assert.True(await scenario.ShowsNewAsync(server), $"{fault}: {Name(server)} served the member after its erasure was acknowledged");

        // The others see it within the bound.
        foreach (var server in new[] { b, c })
        {
            while (!await scenario.ShowsNewAsync(server))
            {
                Assert.True(acknowledged.ElapsedMilliseconds < BoundMilliseconds + CallSlackMilliseconds,
                    $"{fault}/{write}: {Name(server)} still served the old state {acknowledged.ElapsedMilliseconds} ms after the write");
                await Task.Delay(20);
            }
        }
        var seenAfter = acknowledged.ElapsedMilliseconds;

        // Through the fault and after Redis is back, nobody goes back to the old state (Redis still holds it for some faults).
        await faulted.HealAsync();
        // Not even once the outbox has applied every row to Redis, and the keys are no longer read around it: whatever the
        // write's invalidation never reached there (the breaker was open) must have been applied by the outbox, every key of it.
        var applied = Stopwatch.StartNew();
        while (cluster.All.Any(s => !s.Service<RedisCache>().IsUsable) || a.Scalar("SELECT COUNT(*) FROM cache_outbox WHERE \"Applied\" = FALSE") > 0)
        {
            Assert.True(applied.ElapsedMilliseconds < 15_000, $"{fault}/{write}: the outbox was not applied to Redis within 15 s of the fault's end");
            await Task.Delay(50);
        }
        // Applied rows are read as applied at the next poll; until then their keys still skip Redis.
        await Task.Delay(300);
        var until = Stopwatch.StartNew();
        while (until.ElapsedMilliseconds < 800)
        {
            foreach (var server in cluster.All)
                Assert.True(await scenario.ShowsNewAsync(server), $"{fault}/{write}: {Name(server)} went back to the old state after the fault (seen after {seenAfter} ms)");
            await Task.Delay(50);
        }
    }

    string Name(IdentityServer server) => server == cluster.A ? "A (writer)" : server == cluster.B ? "B" : "C (no L1)";

    async Task<FaultInProgress> StartAsync(Fault fault, IdentityServer writer)
    {
        var redis = cluster.Redis;
        switch (fault)
        {
            case Fault.ClientPause:
                await cluster.Inspector.GetDatabase().ExecuteAsync("CLIENT", "PAUSE", "1000", "ALL");
                return new FaultInProgress(() => Task.Delay(1100));
            case Fault.DebugSleep:
                // The command blocks the whole server (and this connection) while it sleeps.
                _ = cluster.Inspector.GetDatabase().ExecuteAsync("DEBUG", "SLEEP", "1");
                await Task.Delay(50);
                return new FaultInProgress(() => Task.Delay(1100));
            case Fault.SigStopUntilBreakerOpens:
                redis.Freeze();
                var redisCache = writer.Service<RedisCache>();
                var watch = Stopwatch.StartNew();
                while (redisCache.IsUsable && watch.ElapsedMilliseconds < 5000)
                {
                    // Reads of unknown phones go to Redis and time out, which opens the breaker.
                    try
                    {
                        await writer.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = TestData.Phone() });
                    }
                    catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
                    {
                    }
                }
                Assert.False(redisCache.IsUsable, "the breaker did not open");
                return new FaultInProgress(() =>
                {
                    redis.Thaw();
                    return Task.CompletedTask;
                });
            case Fault.Kill:
                redis.Kill();
                return new FaultInProgress(redis.RestartAsync);
            case Fault.ClientKillEvery150Ms:
                var stop = new CancellationTokenSource();
                var killer = Task.Run(async () =>
                {
                    while (!stop.IsCancellationRequested)
                    {
                        try
                        {
                            await cluster.Inspector.GetDatabase().ExecuteAsync("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
                            await cluster.Inspector.GetDatabase().ExecuteAsync("CLIENT", "KILL", "TYPE", "pubsub", "SKIPME", "yes");
                        }
                        catch (RedisException)
                        {
                        }
                        await Task.Delay(150);
                    }
                });
                await Task.Delay(200);
                return new FaultInProgress(async () =>
                {
                    await Task.Delay(600);
                    await stop.CancelAsync();
                    await killer;
                }, stop);
            default:
                throw new ArgumentOutOfRangeException(nameof(fault));
        }
    }

    /// <summary>A fault under way; healing it (once) lets Redis answer again.</summary>
    sealed class FaultInProgress(Func<Task> heal, IDisposable? keepAlive = null) : IAsyncDisposable
    {
        bool healed;

        public async Task HealAsync()
        {
            if (healed)
                return;
            healed = true;
            await heal();
        }

        public async ValueTask DisposeAsync()
        {
            await HealAsync();
            keepAlive?.Dispose();
        }
    }

    /// <summary>One member (or two, for a merge) and one write, with what each side of the write looks like to a reader.</summary>
    sealed class Scenario
    {
        Write kind;
        string phone = "", newPhone = "", openId = "", memberId = "", fanId = "", importedOpenId = "";

        public static async Task<Scenario> CreateAsync(IdentityServer a, Write kind)
        {
            var scenario = new Scenario { kind = kind, phone = TestData.Phone(), openId = TestData.OpenId() };
            var enrolled = await a.Members.EnrollMemberAsync(new EnrollMemberRequest
            {
                Phone = scenario.phone, ChannelIdentity = TestData.MiniProgram(scenario.openId), Source = TestData.Pos(),
                Profile = new Profile { Name = "李雷" },
            });
            scenario.memberId = enrolled.Member.MemberId;
            if (kind == Write.Import)
                scenario.importedOpenId = TestData.OpenId();
            if (kind == Write.Merge)
            {
                scenario.openId = TestData.OpenId();
                scenario.fanId = (await a.Members.EnrollMemberAsync(TestData.EnrollFan(scenario.openId))).Member.MemberId;
            }
            return scenario;
        }

        public async Task WriteAsync(IdentityServer a)
        {
            switch (kind)
            {
                case Write.OrderChangesTier:
                    await a.Loyalty.RecordOrderAsync(new RecordOrderRequest
                    {
                        Member = new MemberKey { MemberId = memberId }, Channel = Channel.Pos, OrderId = "O-" + Guid.NewGuid().ToString("N"),
                        AmountFen = 600_000, PaidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
                    });
                    break;
                case Write.ProfileUpdate:
                    await a.Members.UpdateProfileAsync(new UpdateProfileRequest { MemberId = memberId, Profile = new Profile { Name = "韩梅梅" } });
                    break;
                case Write.PhoneChange:
                    newPhone = TestData.Phone();
                    await a.Members.ChangePhoneAsync(new ChangePhoneRequest { MemberId = memberId, NewPhone = newPhone, Source = TestData.Pos() });
                    break;
                case Write.Merge:
                    await a.Members.MergeMembersAsync(new MergeMembersRequest { SurvivorMemberId = memberId, AbsorbedMemberId = fanId, Reason = "dup", Operator = "ops" });
                    break;
                case Write.Erase:
                    await a.Members.EraseMemberAsync(new EraseMemberRequest { MemberId = memberId, ReasonCode = ErasureReason.MemberRequest });
                    break;
                case Write.Import:
                    // A legacy row of the member: it brings a gold tier and an openid looked up (and remembered as unknown)
                    // before. The batch's cache keys go to the outbox packed in one row.
                    var replies = await Import.ImportStream.RunAsync(a.WithKey(a.TestKey),
                        new ImportHeader { ImportId = "fm-" + Guid.NewGuid().ToString("N")[..12], Source = "crm" },
                        [[new ImportRow { RowNumber = 1, SourceRowKey = importedOpenId, Phone = phone, Channel = Channel.WechatMiniProgram, ExternalId = importedOpenId, TierHint = "gold" }]]);
                    Assert.True(replies[^1].Totals.Merged == 1, replies[^1].ToString());
                    break;
            }
        }

        public async Task<bool> ShowsOldAsync(IdentityServer server) => kind switch
        {
            Write.OrderChangesTier => await TierAsync(server, phone) == "regular",
            Write.ProfileUpdate => (await ByIdAsync(server)).Member.Profile.Name == "李雷",
            Write.PhoneChange => await FoundByPhoneAsync(server, phone),
            Write.Merge => (await ByIdentityAsync(server))?.Member.MemberId == fanId,
            Write.Erase => await FoundByPhoneAsync(server, phone) && await ByIdentityAsync(server) is not null && (await ByIdAsync(server)).Member is not null,
            Write.Import => await TierAsync(server, phone) == "regular" && await ByIdentityAsync(server, importedOpenId) is null,
            _ => false,
        };

        public async Task<bool> ShowsNewAsync(IdentityServer server) => kind switch
        {
            Write.OrderChangesTier => await TierAsync(server, phone) == "gold",
            Write.ProfileUpdate => (await ByIdAsync(server)).Member.Profile.Name == "韩梅梅",
            Write.PhoneChange => !await FoundByPhoneAsync(server, phone) && await FoundByPhoneAsync(server, newPhone)
                                 && (await ByIdAsync(server)).Member.MaskedPhone == TestData.Masked(newPhone),
            Write.Merge => (await ByIdentityAsync(server))?.Member.MemberId == memberId
                           && (await ByIdAsync(server)).Member.ChannelIdentities.Any(i => i.ExternalId == openId),
            Write.Erase => !await FoundByPhoneAsync(server, phone) && await ByIdentityAsync(server) is null && !await FoundByIdAsync(server),
            Write.Import => await TierAsync(server, phone) == "gold" && (await ByIdentityAsync(server, importedOpenId))?.Member.MemberId == memberId,
            _ => false,
        };

        static async Task<string> TierAsync(IdentityServer server, string phone) =>
            (await server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone, BenefitContext = new BenefitContext { Channel = Channel.Pos } }))
            .Benefits.Tier.Code;

        Task<ResolveMemberResponse> ByIdAsync(IdentityServer server) =>
            server.Members.ResolveMemberAsync(new ResolveMemberRequest { MemberId = memberId }).ResponseAsync;

        async Task<bool> FoundByIdAsync(IdentityServer server)
        {
            try
            {
                await ByIdAsync(server);
                return true;
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.NotFound or StatusCode.FailedPrecondition)
            {
                return false;
            }
        }

        async Task<ResolveMemberResponse?> ByIdentityAsync(IdentityServer server, string? externalId = null)
        {
            try
            {
                return await server.Members.ResolveMemberAsync(new ResolveMemberRequest { ChannelIdentity = TestData.MiniProgram(externalId ?? openId) });
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
                return null;
            }
        }

        static async Task<bool> FoundByPhoneAsync(IdentityServer server, string phone)
        {
            try
            {
                await server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone });
                return true;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
                return false;
            }
        }
    }

    /// <summary>One Redis and three instances on one store, shared by the rows (each row uses its own members).</summary>
    public sealed class Cluster : IAsyncLifetime
    {
        public RedisProcess Redis { get; private set; } = null!;
        public ConnectionMultiplexer Inspector { get; private set; } = null!;
        public IdentityServer A { get; private set; } = null!;
        public IdentityServer B { get; private set; } = null!;
        public IdentityServer C { get; private set; } = null!;
        public IdentityServer[] All => [A, B, C];

        public async Task InitializeAsync()
        {
            Redis = await RedisProcess.StartAsync();
            Inspector = await ConnectionMultiplexer.ConnectAsync(Redis.Configuration + ",abortConnect=false,connectRetry=5,allowAdmin=true");
            string[] args =
            [
                $"--Redis:Configuration={Redis.Configuration}", "--Redis:BreakerOpenSeconds=1",
                $"--Identity:Cache:InvalidationBoundMilliseconds={BoundMilliseconds}", "--Identity:Cache:OutboxPollMilliseconds=100",
            ];
            A = await IdentityServer.StartAsync(null, args);
            B = await IdentityServer.StartAsync(A.DataDirectory, args);
            C = await IdentityServer.StartAsync(A.DataDirectory, [.. args, "--Identity:Cache:L1Enabled=false"]);
        }

        public async Task DisposeAsync()
        {
            foreach (var server in new[] { C, B, A })
                if (server is not null)
                    await server.DisposeAsync();
            if (Inspector is not null)
                await Inspector.DisposeAsync();
            await Redis.DisposeAsync();
        }
    }
}
