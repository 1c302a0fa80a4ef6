using Identity.Service.Caching;
using Identity.Service.Telemetry;

namespace Identity.IntegrationTests.Caching;

/// <summary>
/// An order keeps its member's new snapshot in the cache instead of only dropping the old one: the next reader gets it
/// without a store load, and what is kept is exactly what the store would load, however orders race.
/// </summary>
public sealed class FreshSnapshotTests : RedisServers
{
    // A long bound and a patient Redis: these tests are about what the cache holds, not about how fast it syncs.
    async Task<IdentityServer> StartAsync(string? dataDirectory = null)
    {
        var server = await StartAsync(dataDirectory, "--Redis:OperationTimeoutMilliseconds=5000", "--Identity:Cache:InvalidationBoundMilliseconds=60000");
        await Eventually.TrueAsync(() => server.Service<L1Cache>().InSync);
        return server;
    }

    static async Task<MemberSnapshot> StoreSnapshotAsync(IdentityServer server, string memberId) =>
        (await server.Service<SnapshotLoader>().ByIdAsync(memberId)).Snapshot ?? throw new InvalidOperationException("no such member in the store");

    static MemberSnapshot? HeldInL1(IdentityServer server, string memberId) =>
        server.Service<L1Cache>().TryGet<MemberSnapshot>(server.Service<CacheKeys>().Member(memberId), out var held) ? held : null;

    static async Task<MemberSnapshot?> HeldInRedisAsync(IdentityServer server, string memberId)
    {
        var keys = server.Service<CacheKeys>();
        var key = keys.Member(memberId);
        var bytes = await server.Service<RedisCache>().GetSnapshotAsync(key);
        return bytes is not null && keys.TryOpen(key, bytes, out var plaintext) ? MemberSnapshot.Parser.ParseFrom(plaintext) : null;
    }

    /// <summary>
    /// Resolves the member until <paramref name="server"/> keeps it in L1: a read made while an earlier write's
    /// invalidation is still in flight (slower on PostgreSQL) keeps nothing.
    /// </summary>
    static async Task HoldAsync(IdentityServer server, string phone, string memberId)
    {
        for (var i = 0; i < 250; i++)
        {
            await server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone });
            if (HeldInL1(server, memberId) is not null)
                return;
            await Task.Delay(20);
        }
    }

    /// <summary>
    /// Enrols a member through <paramref name="server"/> and orders once (which opens the account); every server given
    /// then holds the member; the second order, through <paramref name="server"/>, keeps the member's new snapshot.
    /// </summary>
    static async Task<Member> OrderedTwiceAsync(IdentityServer server, string phone, string prefix, params IdentityServer[] holders)
    {
        var member = (await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone))).Member;
        await server.Loyalty.RecordOrderAsync(Order(phone, prefix + "-1", 10_000));
        foreach (var holder in holders.Prepend(server))
            await HoldAsync(holder, phone, member.MemberId);
        await server.Loyalty.RecordOrderAsync(Order(phone, prefix + "-2", 10_000));
        return member;
    }

    static RecordOrderRequest Order(string phone, string orderId, long fen) =>
        new() { Member = new MemberKey { Phone = phone }, Channel = Channel.Pos, OrderId = orderId, AmountFen = fen };

    [Fact]
    public async Task An_order_leaves_its_members_new_snapshot_in_both_levels_as_the_store_loads_it()
    {
        var server = await StartAsync();
        var phone = TestData.Phone();
        var member = (await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone))).Member;
        await server.Loyalty.RecordOrderAsync(Order(phone, "fresh-1", 10_000));
        await HoldAsync(server, phone, member.MemberId); // the cache holds the member

        var recorded = await server.Loyalty.RecordOrderAsync(Order(phone, "fresh-2", 25_000));
        var store = await StoreSnapshotAsync(server, member.MemberId);
        Assert.Equal(recorded.PointsBalance, store.PointsBalance);
        Assert.Equal(store, HeldInL1(server, member.MemberId));
        Assert.Equal(store, await HeldInRedisAsync(server, member.MemberId));

        // The next reader is answered from the cache, with the order in it.
        var loads = server.Metrics.Sum(CacheMetrics.StoreLoads);
        var resolved = await server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone, BenefitContext = new BenefitContext { Channel = Channel.Pos } });
        Assert.Equal(member.MemberId, resolved.Member.MemberId);
        Assert.Equal(store.Growth, resolved.Benefits.Growth);
        Assert.True(store.Growth > 0);
        Assert.Equal(loads, server.Metrics.Sum(CacheMetrics.StoreLoads));
    }

    [Fact]
    public async Task Orders_racing_for_one_member_over_two_instances_leave_every_cache_with_the_stores_snapshot()
    {
        var a = await StartAsync();
        var b = await StartAsync(a.DataDirectory);
        var phone = TestData.Phone();
        var member = (await a.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone))).Member;
        await a.Loyalty.RecordOrderAsync(Order(phone, "race-0", 10_000));

        for (var round = 0; round < 3; round++)
        {
            // Both instances hold the member, so that every order below may keep a fresh snapshot.
            await a.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone });
            await b.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone });
            await Task.WhenAll(Enumerable.Range(0, 24).Select(i =>
                (i % 2 == 0 ? a : b).Loyalty.RecordOrderAsync(Order(phone, $"race-{round}-{i}", 1_000 + i * 100)).ResponseAsync));

            var store = await StoreSnapshotAsync(a, member.MemberId);
            // Another instance's later order reaches each L1 through Redis at once (or the outbox within the bound).
            foreach (var server in new[] { a, b })
            {
                await Eventually.TrueAsync(() => HeldInL1(server, member.MemberId) is not { } held || held.Equals(store));
                var resolved = await server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone, BenefitContext = new BenefitContext { Channel = Channel.Pos } });
                Assert.Equal(store.Growth, resolved.Benefits.Growth);
                if (HeldInL1(server, member.MemberId) is { } held)
                    Assert.Equal(store, held);
            }
            if (await HeldInRedisAsync(a, member.MemberId) is { } cached)
                Assert.Equal(store, cached);
        }
        Assert.Empty((await a.Loyalty.VerifyLedgerAsync(new VerifyLedgerRequest())).Problems);
    }

    [Fact]
    public async Task An_erasure_or_a_merge_right_after_orders_leaves_no_kept_snapshot_served()
    {
        // One instance, so that the order's kept snapshot is certainly there before the erasure or merge (with a second
        // instance, its outbox reader may apply the order's invalidation once more and drop the copy first).
        // The default bound: an erasure is acknowledged once that bound has passed.
        var a = await StartAsync(null, "--Redis:OperationTimeoutMilliseconds=5000");
        await Eventually.TrueAsync(() => a.Service<L1Cache>().InSync);

        // Erasure: the order kept the member's snapshot (L1 and Redis); then the member is erased.
        var phone = TestData.Phone();
        var member = await OrderedTwiceAsync(a, phone, "erase");
        Assert.NotNull(HeldInL1(a, member.MemberId));
        Assert.NotNull(await HeldInRedisAsync(a, member.MemberId));

        await a.Members.EraseMemberAsync(new EraseMemberRequest { MemberId = member.MemberId, ReasonCode = ErasureReason.MemberRequest });
        // The erasure is acknowledged only once no instance can serve the member.
        Assert.Null(HeldInL1(a, member.MemberId));
        Assert.Null(await HeldInRedisAsync(a, member.MemberId));
        await Rpc.FailsWith(Grpc.Core.StatusCode.NotFound, a.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone }));
        await Rpc.FailsWith(Grpc.Core.StatusCode.NotFound, a.Members.ResolveMemberAsync(new ResolveMemberRequest { MemberId = member.MemberId }));

        // Merge: the absorbed member's kept snapshot goes; its phone leads to the survivor.
        var survivor = (await a.Members.EnrollMemberAsync(TestData.EnrollAtPos(TestData.Phone()))).Member;
        var absorbedPhone = TestData.Phone();
        var absorbed = await OrderedTwiceAsync(a, absorbedPhone, "merge");
        Assert.NotNull(HeldInL1(a, absorbed.MemberId));

        await a.Members.MergeMembersAsync(new MergeMembersRequest
        {
            SurvivorMemberId = survivor.MemberId, AbsorbedMemberId = absorbed.MemberId, Reason = "dup", Operator = "ops",
        });
        Assert.Null(HeldInL1(a, absorbed.MemberId));
        Assert.Null(await HeldInRedisAsync(a, absorbed.MemberId));
        // The absorbed member's phone does not move to the survivor (the survivor keeps its own): it names no one now.
        await Rpc.FailsWith(Grpc.Core.StatusCode.NotFound, a.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = absorbedPhone }));
        var redirected = await a.Members.ResolveMemberAsync(new ResolveMemberRequest { MemberId = absorbed.MemberId });
        Assert.Equal((survivor.MemberId, absorbed.MemberId), (redirected.Member.MemberId, redirected.RedirectedFromMemberId));
    }

    [Fact]
    public async Task Another_instance_leaves_the_kept_snapshot_alone_and_reads_it_from_redis()
    {
        var a = await StartAsync();
        var b = await StartAsync(a.DataDirectory);
        var phone = TestData.Phone();
        var member = await OrderedTwiceAsync(a, phone, "kept", b);
        var store = await StoreSnapshotAsync(a, member.MemberId);
        Assert.Equal(store, HeldInL1(a, member.MemberId));

        // Several polls of both instances: A marks its row applied, so B does not apply it again (which would drop the
        // kept copies everywhere); B's own L1 copy was dropped at once, through Redis.
        await Task.Delay(1_500);
        Assert.Equal(store, HeldInL1(a, member.MemberId));
        Assert.Equal(store, await HeldInRedisAsync(a, member.MemberId));
        var loads = b.Metrics.Sum(CacheMetrics.StoreLoads);
        var resolved = await b.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone, BenefitContext = new BenefitContext { Channel = Channel.Pos } });
        Assert.Equal(store.Growth, resolved.Benefits.Growth);
        Assert.Equal(loads, b.Metrics.Sum(CacheMetrics.StoreLoads));
    }
}
