using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Identity.IntegrationTests.Loyalty;

/// <summary>
/// RecordOrders: a till's queue replayed in any order ends as if each order had been recorded live in the order it was
/// paid; a replay cut short and retried ends the same; one order's refusal does not hold back the others.
/// </summary>
public sealed class OrderReplayTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    readonly IdentityServer server = fixture.Server;
    readonly LoyaltyService.LoyaltyServiceClient loyalty = fixture.Server.Loyalty;

    /// <summary>One member's queue: amounts big enough to cross silver (1,000 yuan) and gold (5,000 yuan), whose multiplier is 1.5.</summary>
    sealed record QueuedOrder(int Member, string OrderId, long AmountFen, DateTimeOffset PaidAt);

    static List<QueuedOrder> Queue(Random random, int members, int perMember)
    {
        // Within the late-order window (30 days): 25 days back, and every queue ends before now.
        var start = DateTimeOffset.UtcNow.AddDays(-25);
        var step = 20 * 24 * 60 / perMember;
        var orders = new List<QueuedOrder>();
        for (var m = 0; m < members; m++)
        {
            var at = start.AddMinutes(random.Next(0, 600));
            for (var i = 0; i < perMember; i++)
            {
                at = at.AddMinutes(random.Next(1, step));
                orders.Add(new QueuedOrder(m, $"{m}-{i}", random.Next(20_000, 150_000), at));
            }
        }
        return orders;
    }

    async Task<string[]> NewMembersAsync(int count)
    {
        var ids = new string[count];
        for (var i = 0; i < count; i++)
            ids[i] = (await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(TestData.Phone()))).Member.MemberId;
        return ids;
    }

    static RecordOrderRequest Request(string memberId, string prefix, QueuedOrder order) => new()
    {
        Member = new MemberKey { MemberId = memberId }, Channel = Channel.Pos, OrderId = prefix + order.OrderId, StoreId = "S001",
        AmountFen = order.AmountFen, PaidAt = Timestamp.FromDateTimeOffset(order.PaidAt),
    };

    /// <summary>Everything the end state is judged by: balance, tier, growth, lots, and what each order earned.</summary>
    async Task<string> StateAsync(string memberId, string prefix)
    {
        var key = new MemberKey { MemberId = memberId };
        var account = await loyalty.GetPointsAccountAsync(new GetPointsAccountRequest { Member = key });
        var quote = (await loyalty.GetBenefitsAsync(new GetBenefitsRequest { Member = key, Context = new BenefitContext { Channel = Channel.Pos } })).Quote;
        var entries = await loyalty.ListPointsEntriesAsync(new ListPointsEntriesRequest { Member = key, PageSize = 500 });
        var earned = entries.Entries.Select(e => $"{e.Kind}:{e.Reference.Replace(prefix, "", StringComparison.Ordinal)}:{e.Points}").Order(StringComparer.Ordinal);
        var lots = account.Lots.Select(l => $"{l.Points}/{l.Remaining}@{l.ExpiresAt}").Order(StringComparer.Ordinal);
        return $"balance {account.Balance}; tier {quote.Tier.Code}; growth {quote.Growth}; lots {string.Join(",", lots)}; entries {string.Join(",", earned)}";
    }

    async Task<List<string>> LiveAsync(List<QueuedOrder> queue, string[] members, string prefix)
    {
        foreach (var order in queue.OrderBy(o => o.PaidAt))
            await loyalty.RecordOrderAsync(Request(members[order.Member], prefix, order));
        return [.. await Task.WhenAll(members.Select(m => StateAsync(m, prefix)))];
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task A_shuffled_queue_ends_as_if_each_order_was_recorded_live(int seed)
    {
        var random = new Random(seed);
        var queue = Queue(random, members: 3, perMember: 10);
        var tag = Guid.NewGuid().ToString("N")[..8];
        var expected = await LiveAsync(queue, await NewMembersAsync(3), $"L{tag}-");
        Assert.Contains(expected, s => s.Contains("tier gold", StringComparison.Ordinal)); // the multiplier changed along the way

        var replayMembers = await NewMembersAsync(3);
        var request = new RecordOrdersRequest();
        request.Orders.AddRange(queue.OrderBy(_ => random.Next()).Select(o => Request(replayMembers[o.Member], $"R{tag}-", o)));
        var response = await loyalty.RecordOrdersAsync(request);

        Assert.Equal(Enumerable.Range(0, queue.Count), response.Results.Select(r => r.Index));
        Assert.All(response.Results, r => Assert.False(r.Recorded?.Replayed ?? true, r.Error?.Message));
        var actual = await Task.WhenAll(replayMembers.Select(m => StateAsync(m, $"R{tag}-")));
        Assert.Equal(expected, actual);
        Assert.Empty((await loyalty.VerifyLedgerAsync(new VerifyLedgerRequest())).Problems);
    }

    [Fact]
    public async Task A_replay_cut_short_and_sent_again_ends_the_same_and_replays_what_was_recorded()
    {
        var random = new Random(7);
        var queue = Queue(random, members: 2, perMember: 60);
        var tag = Guid.NewGuid().ToString("N")[..8];
        var expected = await LiveAsync(queue, await NewMembersAsync(2), $"L{tag}-");

        var members = await NewMembersAsync(2);
        var request = new RecordOrdersRequest();
        request.Orders.AddRange(queue.OrderBy(_ => random.Next()).Select(o => Request(members[o.Member], $"R{tag}-", o)));
        // The first half as its own batch, then the whole queue again cut off by the caller after a moment.
        var firstHalf = new RecordOrdersRequest();
        firstHalf.Orders.AddRange(request.Orders.OrderBy(o => o.PaidAt.ToDateTimeOffset()).Take(queue.Count / 2));
        await loyalty.RecordOrdersAsync(firstHalf);
        using (var cut = new CancellationTokenSource(TimeSpan.FromMilliseconds(random.Next(5, 60))))
        {
            try
            {
                await loyalty.RecordOrdersAsync(request, cancellationToken: cut.Token);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled)
            {
            }
        }

        var retried = await loyalty.RecordOrdersAsync(request);
        Assert.All(retried.Results, r => Assert.NotNull(r.Recorded));
        Assert.True(retried.Results.Count(r => r.Recorded.Replayed) >= queue.Count / 2);
        var actual = await Task.WhenAll(members.Select(m => StateAsync(m, $"R{tag}-")));
        Assert.Equal(expected, actual);
    }

    [Fact]
    public async Task Each_order_is_answered_on_its_own_as_RecordOrder_would_answer_it()
    {
        var memberId = (await NewMembersAsync(1))[0];
        var member = new MemberKey { MemberId = memberId };
        var now = DateTimeOffset.UtcNow;
        RecordOrderRequest Order(string id, long amount = 10_000, DateTimeOffset? paidAt = null, MemberKey? key = null) => new()
        {
            Member = key ?? member, Channel = Channel.Pos, OrderId = id + Guid.NewGuid().ToString("N")[..8], StoreId = "S001", AmountFen = amount,
            PaidAt = Timestamp.FromDateTimeOffset(paidAt ?? now.AddMinutes(-5)),
        };
        var recordedBefore = Order("before-");
        await loyalty.RecordOrderAsync(recordedBefore);
        var reused = recordedBefore.Clone();
        reused.AmountFen += 1;

        var request = new RecordOrdersRequest();
        request.Orders.Add(Order("ok-1-"));
        request.Orders.Add(Order("bad-amount-", amount: 0));
        request.Orders.Add(Order("late-", paidAt: now.AddDays(-31)));
        request.Orders.Add(Order("unknown-", key: new MemberKey { MemberId = "m_" + Guid.NewGuid().ToString("N") }));
        request.Orders.Add(reused);
        request.Orders.Add(recordedBefore);
        var partner = Order("partner-");
        partner.Channel = Channel.Partner;
        request.Orders.Add(partner);
        request.Orders.Add(Order("ok-2-"));
        var response = await loyalty.RecordOrdersAsync(request);

        Assert.False(response.Results[0].Recorded.Replayed);
        Assert.False(response.Results[7].Recorded.Replayed);
        Assert.True(response.Results[5].Recorded.Replayed);
        foreach (var i in new[] { 1, 2, 3, 4, 6 })
        {
            var alone = await Assert.ThrowsAsync<RpcException>(async () => await loyalty.RecordOrderAsync(request.Orders[i]));
            var error = response.Results[i].Error;
            Assert.NotNull(error);
            Assert.Equal(Identity.Service.Loyalty.OrderReplay.CodeName(alone.StatusCode), error.Code);
            Assert.Equal(i == 2 ? alone.FieldReason("paid_at") : alone.Reason(), error.Reason);
            Assert.Equal(alone.BadFields().FirstOrDefault() ?? "", error.Field);
            Assert.Equal(alone.Status.Detail, error.Message);
        }
        Assert.Equal("paid_at", response.Results[2].Error.Field);
        Assert.Equal("LATE_ORDER", response.Results[2].Error.Reason);
        var late = await Assert.ThrowsAsync<RpcException>(async () => await loyalty.RecordOrderAsync(request.Orders[2]));
        Assert.Equal("INVALID_ARGUMENT", late.Reason());
        Assert.Equal("INVALID_ARGUMENT", response.Results[1].Error.Reason);
        Assert.Equal("MEMBER_NOT_FOUND", response.Results[3].Error.Reason);
        Assert.Equal("IDEMPOTENCY_KEY_REUSED", response.Results[4].Error.Reason);

        var entries = await loyalty.ListPointsEntriesAsync(new ListPointsEntriesRequest { Member = member });
        Assert.Equal(3, entries.Entries.Count); // before, ok-1, ok-2
        Assert.Empty((await loyalty.VerifyLedgerAsync(new VerifyLedgerRequest())).Problems);
    }

    [Fact]
    public async Task A_store_bound_till_replays_orders_of_its_stores_only()
    {
        var phone = TestData.Phone();
        await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone));
        var till = server.LoyaltyAs(await server.CreateClientAsync("till", ClientRole.Pos, Channel.Pos, 1_000, "S001"));
        RecordOrderRequest Order(string store, Channel channel = Channel.Pos) => new()
        {
            Member = new MemberKey { Phone = phone }, Channel = channel, OrderId = "T-" + Guid.NewGuid().ToString("N"), StoreId = store, AmountFen = 5_000,
        };
        var request = new RecordOrdersRequest { Orders = { Order("S001"), Order("S002"), Order("S001", Channel.Tmall) } };
        var response = await till.RecordOrdersAsync(request);
        Assert.NotNull(response.Results[0].Recorded);
        Assert.Equal("PERMISSION_DENIED", response.Results[1].Error.Code);
        Assert.Equal("PERMISSION_DENIED", response.Results[2].Error.Code);
    }

    [Fact]
    public async Task Five_hundred_orders_with_every_id_at_its_longest_go_in_one_call()
    {
        // The contract allows 500 orders per call and ids of 64 characters: a till's queue written in Chinese ids is far
        // over the 64 KiB that other requests are held to, and must still be taken whole.
        var memberId = (await NewMembersAsync(1))[0];
        static string Longest(string prefix, char fill) => prefix + new string(fill, 64 - prefix.Length);
        var request = new RecordOrdersRequest();
        request.Orders.AddRange(Enumerable.Range(0, 500).Select(i => new RecordOrderRequest
        {
            Member = new MemberKey { MemberId = memberId }, Channel = Channel.Pos, OrderId = Longest($"长{i}-", '单'),
            StoreId = Longest("店", '铺'), GuideId = Longest("导", '购'), AmountFen = 1_000 + i,
            PaidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(-1).AddSeconds(i)),
        }));
        Assert.True(request.CalculateSize() > 256 * 1024, $"{request.CalculateSize()} bytes");

        var first = await loyalty.RecordOrdersAsync(request);
        Assert.Equal(500, first.Results.Count(r => r.Recorded is { Replayed: false }));
        var again = await loyalty.RecordOrdersAsync(request);
        Assert.Equal(500, again.Results.Count(r => r.Recorded is { Replayed: true }));
        var account = await loyalty.GetPointsAccountAsync(new GetPointsAccountRequest { Member = new MemberKey { MemberId = memberId } });
        Assert.Equal(first.Results.Sum(r => r.Recorded.PointsEarned), account.Balance);
    }

    [Fact]
    public async Task An_empty_batch_or_one_over_500_is_refused_naming_orders()
    {
        var empty = await Rpc.FailsWith(StatusCode.InvalidArgument, loyalty.RecordOrdersAsync(new RecordOrdersRequest()));
        Assert.Equal(["orders"], empty.BadFields());
        var big = new RecordOrdersRequest();
        big.Orders.AddRange(Enumerable.Range(0, 501).Select(i => new RecordOrderRequest
        {
            Member = new MemberKey { MemberId = "m_x" }, Channel = Channel.Pos, OrderId = $"big-{i}", AmountFen = 1,
        }));
        Assert.Equal(["orders"], (await Rpc.FailsWith(StatusCode.InvalidArgument, loyalty.RecordOrdersAsync(big))).BadFields());
    }

    [Fact]
    public async Task Orders_naming_one_member_every_way_and_a_key_sent_twice_in_the_batch_land_once_on_the_survivor()
    {
        var phone = TestData.Phone();
        var survivor = (await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone))).Member.MemberId;
        var absorbed = (await NewMembersAsync(1))[0];
        await server.Members.MergeMembersAsync(new MergeMembersRequest { SurvivorMemberId = survivor, AbsorbedMemberId = absorbed, Reason = "dup", Operator = "ops" });
        var before = (await loyalty.GetPointsAccountAsync(new GetPointsAccountRequest { Member = new MemberKey { MemberId = survivor } })).Balance;

        var prefix = Guid.NewGuid().ToString("N")[..8];
        var paidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-5));
        RecordOrderRequest Order(string id, MemberKey key, long amount = 10_000) => new()
        {
            Member = key, Channel = Channel.Pos, OrderId = prefix + id, StoreId = "S001", AmountFen = amount, PaidAt = paidAt,
        };
        var request = new RecordOrdersRequest();
        request.Orders.Add(Order("by-id", new MemberKey { MemberId = survivor }));
        request.Orders.Add(Order("by-phone", new MemberKey { Phone = "+86 " + phone }));
        request.Orders.Add(Order("by-merged-id", new MemberKey { MemberId = absorbed }));
        request.Orders.Add(Order("by-id", new MemberKey { MemberId = survivor }));
        request.Orders.Add(Order("by-phone", new MemberKey { Phone = "+86 " + phone }, amount: 20_000));
        var response = await loyalty.RecordOrdersAsync(request);

        Assert.All(response.Results.Take(3), r => Assert.Equal(survivor, r.Recorded?.MemberId));
        Assert.All(response.Results.Take(3), r => Assert.False(r.Recorded.Replayed));
        Assert.True(response.Results[3].Recorded?.Replayed, response.Results[3].ToString());
        Assert.Equal(response.Results[0].Recorded.PointsEarned, response.Results[3].Recorded.PointsEarned);
        Assert.Equal("IDEMPOTENCY_KEY_REUSED", response.Results[4].Error?.Reason);
        var after = (await loyalty.GetPointsAccountAsync(new GetPointsAccountRequest { Member = new MemberKey { MemberId = survivor } })).Balance;
        Assert.Equal(before + response.Results.Take(3).Sum(r => r.Recorded.PointsEarned), after);
        Assert.Equal(3 * 100, response.Results.Take(3).Sum(r => r.Recorded.PointsEarned));
    }

    [Fact]
    public async Task An_order_id_sent_for_two_members_in_one_batch_goes_to_the_one_paid_first_every_time()
    {
        // Different members' orders may run side by side (PostgreSQL): one order id naming two members must still be
        // decided by paid_at, as recording them live in that order would, not by which write wins a race.
        var members = await NewMembersAsync(2);
        var now = DateTimeOffset.UtcNow;
        for (var round = 0; round < 5; round++)
        {
            var prefix = Guid.NewGuid().ToString("N")[..8];
            RecordOrderRequest Order(string id, string member, int minutesAgo) => new()
            {
                Member = new MemberKey { MemberId = member }, Channel = Channel.Pos, OrderId = prefix + id, StoreId = "S001", AmountFen = 10_000,
                PaidAt = Timestamp.FromDateTimeOffset(now.AddMinutes(-minutesAgo)),
            };
            var request = new RecordOrdersRequest();
            // The later-paid one comes first in the request; other orders of both members around them.
            for (var i = 0; i < 10; i++)
                request.Orders.Add(Order($"other-{i}", members[i % 2], 30 + i));
            request.Orders.Add(Order("shared", members[round % 2], 10));
            request.Orders.Add(Order("shared", members[(round + 1) % 2], 20));
            var response = await loyalty.RecordOrdersAsync(request);

            Assert.All(response.Results.Take(10), r => Assert.False(r.Recorded?.Replayed ?? true, r.ToString()));
            Assert.Equal("IDEMPOTENCY_KEY_REUSED", response.Results[10].Error?.Reason);
            Assert.Equal(members[(round + 1) % 2], response.Results[11].Recorded?.MemberId);
        }
    }
}
