using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Identity.Service.Caching;
using Identity.Service.Telemetry;
using StackExchange.Redis;

namespace Identity.IntegrationTests.Caching;

/// <summary>The two-level cache against a real redis-server: coherent across instances, one load per cold key, and Redis
/// only ever makes things faster.</summary>
public sealed class CacheTests : RedisServers
{
    /// <summary>What a store load may add on top of a cache bound on this shared machine (as in FaultMatrixTests).</summary>
    const int StoreSlackMilliseconds = 400;

    [Fact]
    public async Task A_write_through_one_instance_is_visible_through_another_within_100_ms()
    {
        var a = await StartAsync();
        var b = await StartAsync(a.DataDirectory);
        var phone = TestData.Phone();
        var member = (await a.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone))).Member;

        // B caches the member (L1 and Redis), then serves it from L1.
        var before = await b.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone });
        // L1 answers only while B's outbox reads are current (within the 1 s bound); on a loaded machine B's first read
        // may come before that, so ask again until L1 answers.
        await Eventually.TrueAsync(() =>
        {
            var l1Hits = b.Metrics.Sum(CacheMetrics.Reads, "level=l1", "result=hit");
            b.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone }).ResponseAsync.GetAwaiter().GetResult();
            return b.Metrics.Sum(CacheMetrics.Reads, "level=l1", "result=hit") > l1Hits;
        }, TimeSpan.FromSeconds(5));

        var receivedBefore = b.Metrics.Sum(CacheMetrics.InvalidationsReceived, "via=redis");
        var updated = await a.Members.UpdateProfileAsync(new UpdateProfileRequest { MemberId = member.MemberId, Profile = new Profile { Name = "韩梅梅" } });
        var watch = System.Diagnostics.Stopwatch.StartNew();
        // The moment B counts the invalidation, watched on its own (an in-process counter), not between two resolves: a
        // resolve that reloads from the store on a loaded machine would otherwise add its own time to the measurement.
        var received = Task.Run(async () =>
        {
            while (watch.ElapsedMilliseconds < 1000)
            {
                if (b.Metrics.Sum(CacheMetrics.InvalidationsReceived, "via=redis") > receivedBefore)
                    return watch.ElapsedMilliseconds;
                await Task.Delay(1);
            }
            return (long?)null;
        });
        ResolveMemberResponse seen;
        do
            seen = await b.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone });
        while (seen.Member.Version != updated.Member.Version && watch.ElapsedMilliseconds < 1000);
        var receivedAt = await received;

        // The invalidation reaches B within 100 ms; B then reloads the member from the store, which on a loaded machine
        // (the PostgreSQL pass shares it with the database) can add a store round trip of its own.
        Assert.True(receivedAt is not null && receivedAt <= 100, $"B received the invalidation after {receivedAt} ms");
        Assert.True(watch.ElapsedMilliseconds <= 100 + StoreSlackMilliseconds, $"B saw the write after {watch.ElapsedMilliseconds} ms");
        Assert.Equal("韩梅梅", seen.Member.Profile.Name);
        Assert.True(seen.Member.Version > before.Member.Version);
        Assert.True(b.Metrics.Sum(CacheMetrics.InvalidationsReceived, "via=redis") > 0);

        // A points write through A changes B's quote too.
        await a.Loyalty.RecordOrderAsync(new RecordOrderRequest
        {
            Member = new MemberKey { MemberId = member.MemberId }, Channel = Channel.Pos, OrderId = "O-" + Guid.NewGuid().ToString("N"),
            AmountFen = 600_000, PaidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        });
        await Eventually.TrueAsync(() => b.Members.ResolveMemberAsync(new ResolveMemberRequest
        {
            Phone = phone, BenefitContext = new BenefitContext { Channel = Channel.Pos },
        }).ResponseAsync.Result.Benefits.Tier.Code == "gold", TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public async Task A_program_published_through_one_instance_is_quoted_by_another_at_once()
    {
        // A long refresh interval: only the announcement through Redis can make B see the new version in time.
        var a = await StartAsync(null, "--Identity:Maintenance:ProgramRefreshSeconds=3600");
        var b = await StartAsync(a.DataDirectory, "--Identity:Maintenance:ProgramRefreshSeconds=3600");
        var phone = TestData.Phone();
        await a.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone));
        var resolve = new ResolveMemberRequest { Phone = phone, BenefitContext = new BenefitContext { Channel = Channel.Pos } };
        Assert.Equal(1, (await b.Members.ResolveMemberAsync(resolve)).Benefits.ProgramVersion);

        var program = await a.Loyalty.GetProgramAsync(new GetProgramRequest());
        var published = await a.Loyalty.PublishProgramAsync(new PublishProgramRequest { ProgramJson = program.ProgramJson.Replace("\"checkInPoints\": 5", "\"checkInPoints\": 6", StringComparison.Ordinal) });
        Assert.Equal(2, published.Version);

        await Eventually.TrueAsync(() => b.Members.ResolveMemberAsync(resolve).ResponseAsync.Result.Benefits.ProgramVersion == 2, TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task Two_hundred_concurrent_resolves_of_a_cold_key_load_it_from_the_store_once()
    {
        // Single flight is a property of one process: no Redis here, so its timing cannot blur the count. L1 answers
        // only once the first outbox read is done, and only while reads keep within the bound: the test waits for the
        // first and gives a long bound, so that a slow machine cannot rightly start a second load.
        await using var server = await IdentityServer.StartAsync(null, "--Identity:Cache:InvalidationBoundMilliseconds=60000");
        await Eventually.TrueAsync(() => server.Service<L1Cache>().InSync, TimeSpan.FromSeconds(10));
        var phone = TestData.Phone();
        var member = (await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone))).Member;
        var counters = server.Metrics;
        var loadsBefore = counters.Sum(CacheMetrics.StoreLoads);
        var outboxDropsBefore = counters.Sum(CacheMetrics.InvalidationsReceived, "via=outbox");

        // An asynchronous gate: all 200 calls are issued together, without tying up a thread each while waiting.
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var calls = Enumerable.Range(0, 200).Select(async _ =>
        {
            await gate.Task;
            return await server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone });
        }).ToList();
        gate.SetResult();
        var responses = await Task.WhenAll(calls);

        Assert.All(responses, r => Assert.Equal(member.MemberId, r.Member.MemberId));
        Assert.True(counters.Sum(CacheMetrics.StoreLoads) - loadsBefore == 1,
            $"{counters.Sum(CacheMetrics.StoreLoads) - loadsBefore} store loads (L1 hits {counters.Sum(CacheMetrics.Reads, "level=l1", "result=hit")}, "
            + $"L1 misses {counters.Sum(CacheMetrics.Reads, "level=l1", "result=miss")}, keys dropped through the outbox meanwhile "
            + $"{counters.Sum(CacheMetrics.InvalidationsReceived, "via=outbox") - outboxDropsBefore})");
    }

    [Fact]
    public async Task An_unknown_phone_is_found_at_once_after_it_enrols()
    {
        var a = await StartAsync();
        var b = await StartAsync(a.DataDirectory);
        var phone = TestData.Phone();

        // Both instances remember "no such phone" (L1, and Redis).
        await Rpc.FailsWith(StatusCode.NotFound, a.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone }));
        await Rpc.FailsWith(StatusCode.NotFound, b.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone }));
        var loads = a.Metrics.Sum(CacheMetrics.StoreLoads);
        await Rpc.FailsWith(StatusCode.NotFound, a.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone }));
        Assert.Equal(loads, a.Metrics.Sum(CacheMetrics.StoreLoads)); // the negative entry answered

        var enrolled = await a.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone));
        Assert.Equal(enrolled.Member.MemberId, (await a.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone })).Member.MemberId);
        await Eventually.TrueAsync(() => b.Metrics.Sum(CacheMetrics.InvalidationsReceived, "via=redis") > 0, TimeSpan.FromMilliseconds(500));
        Assert.Equal(enrolled.Member.MemberId, (await b.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone })).Member.MemberId);
    }

    [Fact]
    public async Task Erasure_and_merge_drop_every_cached_copy_of_the_members_involved()
    {
        var server = await StartAsync();
        var other = await StartAsync(server.DataDirectory);
        await using var inspector = await ConnectionMultiplexer.ConnectAsync(Redis.Configuration);
        var keys = inspector.GetDatabase();
        var prefix = server.Service<RedisCache>().KeyPrefix;
        var names = server.Service<CacheKeys>();

        var phone = TestData.Phone();
        var openId = TestData.OpenId();
        var member = (await server.Members.EnrollMemberAsync(new EnrollMemberRequest
        {
            Phone = phone, ChannelIdentity = TestData.MiniProgram(openId), Source = TestData.Pos(),
        })).Member;
        await server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone });
        await other.Members.ResolveMemberAsync(new ResolveMemberRequest { ChannelIdentity = TestData.MiniProgram(openId) });
        Assert.True(await keys.KeyExistsAsync(prefix + names.Member(member.MemberId)));

        await server.Members.EraseMemberAsync(new EraseMemberRequest { MemberId = member.MemberId, ReasonCode = ErasureReason.MemberRequest });

        Assert.False(await keys.KeyExistsAsync(prefix + names.Member(member.MemberId)));
        await Rpc.FailsWith(StatusCode.NotFound, server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone }));
        await Eventually.TrueAsync(() => other.Metrics.Sum(CacheMetrics.InvalidationsReceived, "via=redis") > 0, TimeSpan.FromMilliseconds(500));
        await Rpc.FailsWith(StatusCode.NotFound, other.Members.ResolveMemberAsync(new ResolveMemberRequest { ChannelIdentity = TestData.MiniProgram(openId) }));

        // Merge: the absorbed member's cached snapshot goes, the survivor's is refreshed with the moved identity.
        var survivor = (await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(TestData.Phone()))).Member;
        var fanOpenId = TestData.OpenId();
        var fan = (await server.Members.EnrollMemberAsync(TestData.EnrollFan(fanOpenId))).Member;
        await other.Members.ResolveMemberAsync(new ResolveMemberRequest { MemberId = survivor.MemberId });
        await other.Members.ResolveMemberAsync(new ResolveMemberRequest { ChannelIdentity = TestData.MiniProgram(fanOpenId) });
        Assert.True(await keys.KeyExistsAsync(prefix + names.Member(fan.MemberId)));

        await server.Members.MergeMembersAsync(new MergeMembersRequest { SurvivorMemberId = survivor.MemberId, AbsorbedMemberId = fan.MemberId, Reason = "dup", Operator = "ops" });

        Assert.False(await keys.KeyExistsAsync(prefix + names.Member(fan.MemberId)));
        Assert.False(await keys.KeyExistsAsync(prefix + names.Member(survivor.MemberId)));
        await Eventually.TrueAsync(() => other.Members.ResolveMemberAsync(new ResolveMemberRequest { ChannelIdentity = TestData.MiniProgram(fanOpenId) })
            .ResponseAsync.Result.Member.MemberId == survivor.MemberId, TimeSpan.FromMilliseconds(500));
        var survivorNow = await other.Members.ResolveMemberAsync(new ResolveMemberRequest { MemberId = survivor.MemberId });
        Assert.Contains(survivorNow.Member.ChannelIdentities, i => i.ExternalId == fanOpenId);
    }

    [Fact]
    public async Task Killing_redis_under_load_fails_no_call_and_caching_resumes_when_it_returns()
    {
        // L1 off: every read goes to Redis while it is up, so its outage and return are plain to see.
        var server = await StartAsync(null, "--Identity:Cache:L1Enabled=false");
        var phones = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            phones.Add(TestData.Phone());
            await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phones[^1]));
        }

        var failures = 0;
        var calls = 0;
        var failureKinds = new System.Collections.Concurrent.ConcurrentBag<string>();
        var stop = DateTime.UtcNow.AddSeconds(4);
        var workers = Enumerable.Range(0, 16).Select(w => Task.Run(async () =>
        {
            var i = w;
            while (DateTime.UtcNow < stop)
            {
                try
                {
                    await OrderOrResolveAsync(server, phones[i++ % phones.Count], i, TimeSpan.FromSeconds(5));
                    Interlocked.Increment(ref calls);
                }
                catch (RpcException e)
                {
                    Interlocked.Increment(ref failures);
                    failureKinds.Add($"{e.StatusCode}: {e.Status.Detail}");
                }
            }
        })).ToList();

        await Task.Delay(1000);
        Redis.Kill();
        await Task.WhenAll(workers);

        Assert.True(failures == 0, $"{failures} calls failed: {string.Join(" | ", failureKinds.Distinct())}");
        Assert.True(calls > 100, $"only {calls} calls completed");
        Assert.False(server.Service<RedisCache>().IsConnected);
        // Redis down is degraded, not down: the service keeps reporting SERVING.
        var health = await new Grpc.Health.V1.Health.HealthClient(server.Channel).CheckAsync(new Grpc.Health.V1.HealthCheckRequest());
        Assert.Equal(Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving, health.Status);

        // Redis returns: the server reconnects by itself and reads hit Redis again.
        await Redis.RestartAsync();
        await Eventually.TrueAsync(() => server.Service<RedisCache>().IsConnected, TimeSpan.FromSeconds(15));
        var counters = server.Metrics;
        await server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phones[0] });
        var hits = counters.Sum(CacheMetrics.Reads, "level=l2", "result=hit");
        await Eventually.TrueAsync(() =>
        {
            server.Members.ResolveMember(new ResolveMemberRequest { Phone = phones[0] });
            return counters.Sum(CacheMetrics.Reads, "level=l2", "result=hit") > hits;
        }, TimeSpan.FromSeconds(10));
    }
    /// <summary>
    /// A call that reaches the Redis client just as the connection dies is failed by the client as cancelled, not as a
    /// connection error: that too is Redis having no answer, never a failed call. Redis is killed and restarted five times
    /// under reads and orders, so that calls meet each moment of a connection's loss.
    /// </summary>
    [Fact]
    public async Task Redis_killed_again_and_again_under_load_fails_no_call()
    {
        var server = await StartAsync(null, "--Identity:Cache:L1Enabled=false", "--Redis:BreakerOpenSeconds=0");
        var phones = new List<string>();
        for (var i = 0; i < 20; i++)
        {
            phones.Add(TestData.Phone());
            await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phones[^1]));
        }
        var failureKinds = new System.Collections.Concurrent.ConcurrentBag<string>();
        var calls = 0;
        using var stop = new CancellationTokenSource();
        var workers = Enumerable.Range(0, 32).Select(w => Task.Run(async () =>
        {
            var i = w;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await OrderOrResolveAsync(server, phones[i++ % phones.Count], i, TimeSpan.FromSeconds(10));
                    Interlocked.Increment(ref calls);
                }
                catch (RpcException e)
                {
                    failureKinds.Add($"{e.StatusCode}: {e.Status.Detail}");
                }
            }
        })).ToList();
        for (var round = 0; round < 3; round++)
        {
            await Eventually.TrueAsync(() => server.Service<RedisCache>().IsConnected, TimeSpan.FromSeconds(15), "the server did not reconnect to Redis");
            // The server's connections are cut again and again while it reconnects, then Redis itself is killed.
            await using (var admin = await ConnectionMultiplexer.ConnectAsync(Redis.Configuration + ",allowAdmin=true"))
            {
                var until = DateTime.UtcNow.AddSeconds(1);
                while (DateTime.UtcNow < until)
                {
                    await admin.GetDatabase().ExecuteAsync("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes");
                    await Task.Delay(5);
                }
            }
            Redis.Kill();
            await Task.Delay(300);
            await Redis.RestartAsync();
        }
        await stop.CancelAsync();
        await Task.WhenAll(workers);
        Assert.True(failureKinds.IsEmpty, $"{failureKinds.Count} calls failed: {string.Join(" | ", failureKinds.Distinct())}");
        Assert.True(calls > 100, $"only {calls} calls completed");
    }

    /// <summary>Every tenth call records an order for the phone's member; the others resolve it with its POS benefits.</summary>
    static async Task OrderOrResolveAsync(IdentityServer server, string phone, int i, TimeSpan deadline)
    {
        if (i % 10 == 0)
            await server.Loyalty.RecordOrderAsync(new RecordOrderRequest
            {
                Member = new MemberKey { Phone = phone }, Channel = Channel.Pos, OrderId = Guid.NewGuid().ToString("N"), AmountFen = 1_000,
                PaidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            }, deadline: DateTime.UtcNow + deadline);
        else
            await server.Members.ResolveMemberAsync(new ResolveMemberRequest
            {
                Phone = phone, BenefitContext = new BenefitContext { Channel = Channel.Pos },
            }, deadline: DateTime.UtcNow + deadline);
    }
}
