using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Identity.Service.Caching;
using Identity.Service.Loyalty.Writes;
using Identity.Service.Storage;

namespace Identity.IntegrationTests.Loyalty;

/// <summary>
/// The common order is written in plain SQL (Identity:Store:DirectOrderWrites); every other case takes the general path.
/// The same orders, refunds and replays through both leave the same replies, ledger, lots, account and cache versions.
/// </summary>
public sealed class DirectOrderWriteTests
{
    [Fact]
    public async Task Orders_written_directly_leave_exactly_what_the_general_path_leaves()
    {
        await using var direct = await IdentityServer.StartAsync();
        await using var general = await IdentityServer.StartAsync(null, "--Identity:Store:DirectOrderWrites=false");
        var now = DateTimeOffset.UtcNow;
        var sides = new List<(IdentityServer Server, string MemberId, string Phone)>();
        foreach (var server in new[] { direct, general })
        {
            var phone = TestData.Phone();
            sides.Add((server, (await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone))).Member.MemberId, phone));
        }

        // Growth crosses silver (1,000) and gold (5,000, a points multiplier); late orders; by phone and by id; a refund
        // between orders (it takes growth back); and a replay.
        (long Fen, int HoursAgo, bool ById)[] orders =
        [
            (30_000, 20 * 24, false), (80_000, 10 * 24, true), (50_000, 0, false), (400_000, 3 * 24, false), (120_000, 2, true),
            (9_900, 25 * 24, false), (300_000, 30, true), (1, 0, false),
        ];
        for (var i = 0; i < orders.Length; i++)
        {
            var (fen, hoursAgo, byId) = orders[i];
            var replies = new List<RecordOrderResponse>();
            foreach (var (server, memberId, phone) in sides)
            {
                var request = new RecordOrderRequest
                {
                    Member = byId ? new MemberKey { MemberId = memberId } : new MemberKey { Phone = phone }, Channel = Channel.Pos,
                    OrderId = $"D-{i}", StoreId = "S001", AmountFen = fen, PaidAt = Timestamp.FromDateTimeOffset(now.AddHours(-hoursAgo)),
                };
                var reply = await server.Loyalty.RecordOrderAsync(request);
                if (i == 3)
                {
                    // The kept reply (sent with the order's rows on the direct path) answers the retry; another request
                    // under the same order id changes nothing; the kept key names its member, so erasure finds it.
                    var again = await server.Loyalty.RecordOrderAsync(request);
                    Assert.True(again.Replayed);
                    Assert.Equal(reply, again.Clone().Also(r => r.Replayed = false));
                    var changed = request.Clone();
                    changed.AmountFen += 100;
                    Assert.Equal("IDEMPOTENCY_KEY_REUSED", (await Rpc.FailsWith(StatusCode.AlreadyExists, server.Loyalty.RecordOrderAsync(changed))).Reason());
                    Assert.Equal(1, server.Scalar("SELECT COUNT(*) FROM idempotency_keys WHERE \"MemberId\" = @id AND \"Key\" LIKE '%D-3'", memberId));
                    await server.Loyalty.RecordRefundAsync(new RecordRefundRequest { Channel = Channel.Pos, OrderId = "D-1", RefundId = "R-1", AmountFen = 40_000 });
                }
                replies.Add(Without(reply, memberId));
            }
            Assert.Equal(replies[1], replies[0]);
        }

        // The common orders took the direct path (the first opens the account; the rest are the common case), and the
        // general server took none.
        Assert.True(direct.Service<DirectOrderWrite>().Written >= orders.Length - 2, $"{direct.Service<DirectOrderWrite>().Written} orders written directly");
        Assert.Equal(0, general.Service<DirectOrderWrite>().Written);

        var states = new List<string>();
        foreach (var (server, memberId, _) in sides)
        {
            var entries = await server.Loyalty.ListPointsEntriesAsync(new ListPointsEntriesRequest { Member = new MemberKey { MemberId = memberId }, PageSize = 500 });
            var account = await server.Loyalty.GetPointsAccountAsync(new GetPointsAccountRequest { Member = new MemberKey { MemberId = memberId } });
            var resolved = await server.Members.ResolveMemberAsync(new ResolveMemberRequest
            {
                MemberId = memberId, BenefitContext = new BenefitContext { Channel = Channel.Pos },
            });
            var key = server.Service<CacheKeys>().Member(memberId);
            states.Add(string.Join("\n",
                string.Join("; ", entries.Entries.Select(e => $"{e.Kind} {e.Points} {e.BalanceAfter} {e.Reference} {e.Reason}")),
                string.Join("; ", account.Lots.Select(l => $"{l.Points} {l.Remaining} {l.ExpiresAt}")),
                $"balance {account.Balance}, tier {resolved.Benefits.Tier.Code}, growth {resolved.Benefits.Growth}",
                $"account version {server.Scalar("SELECT \"Version\" FROM loyalty_accounts WHERE \"MemberId\" = @id", memberId)}",
                $"snapshot version announced {server.Scalar("SELECT MAX(\"Version\") FROM cache_outbox WHERE \"Key\" = @id", key)}"));
            Assert.Empty((await server.Loyalty.VerifyLedgerAsync(new VerifyLedgerRequest())).Problems);
        }
        Assert.Contains("tier gold", states[0], StringComparison.Ordinal);
        Assert.Equal(states[1], states[0]);
    }

    [Fact]
    public async Task Concurrent_orders_of_one_member_each_count_the_growth_of_those_committed_before_it()
    {
        // On PostgreSQL the orders queue on the member's row lock: each must read the growth window after it holds the
        // lock, or the last ones settle the tier without the growth of those that committed while they waited.
        await using var server = await IdentityServer.StartAsync();
        var phone = TestData.Phone();
        var member = new MemberKey { Phone = phone };
        await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone));
        RecordOrderRequest Order(string id) => new()
        {
            Member = member, Channel = Channel.Pos, OrderId = id, StoreId = "S001", AmountFen = 40_000, PaidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        };
        var first = await server.Loyalty.RecordOrderAsync(Order("C-0")); // opens the account: the rest are direct
        var replies = await Task.WhenAll(Enumerable.Range(1, 20).Select(i => server.Loyalty.RecordOrderAsync(Order($"C-{i}")).ResponseAsync));

        var growth = first.GrowthEarned + replies.Sum(r => r.GrowthEarned);
        Assert.True(growth >= 5_000, $"the orders earn {growth} growth, past gold's 5,000");
        Assert.True(server.Service<DirectOrderWrite>().Written >= 10, $"{server.Service<DirectOrderWrite>().Written} orders written directly");
        var resolved = await server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone, BenefitContext = new BenefitContext { Channel = Channel.Pos } });
        Assert.Equal(growth, resolved.Benefits.Growth);
        Assert.Equal("gold", resolved.Benefits.Tier.Code);
    }

    [Fact]
    public async Task Orders_of_one_member_arriving_together_are_each_answered_as_alone_and_one_refusal_stays_its_own()
    {
        // On PostgreSQL the orders that queue behind one another for this member share transactions
        // (Identity:Store:GroupMemberWrites); on SQLite group commit does the same. A reused key among them must be
        // refused alone, a repeat must replay, and every other order must count once.
        await using var server = await IdentityServer.StartAsync();
        var phone = TestData.Phone();
        var member = new MemberKey { Phone = phone };
        await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone));
        var paidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow);
        RecordOrderRequest Order(string id, long fen) => new() { Member = member, Channel = Channel.Pos, OrderId = id, StoreId = "S001", AmountFen = fen, PaidAt = paidAt };
        var originals = new List<RecordOrderResponse>();
        for (var i = 0; i < 6; i++)
            originals.Add(await server.Loyalty.RecordOrderAsync(Order($"G-K{i}", 10_000))); // the first opens the account

        var fresh = Enumerable.Range(0, 48).Select(i => Order($"G-N{i}", 10_000 + i)).ToList();
        var reused = Enumerable.Range(1, 5).Select(i => Order($"G-K{i}", 20_000)).ToList();
        var repeated = Enumerable.Range(1, 5).Select(i => Order($"G-K{i}", 10_000)).ToList();
        var calls = fresh.Concat(reused).Concat(repeated).OrderBy(r => r.OrderId.GetHashCode(StringComparison.Ordinal) ^ r.AmountFen.GetHashCode())
            .Select(r => (Request: r, Call: server.Loyalty.RecordOrderAsync(r).ResponseAsync)).ToList();
        foreach (var (request, call) in calls)
        {
            if (reused.Contains(request))
                Assert.Equal("IDEMPOTENCY_KEY_REUSED", (await Rpc.FailsWith(StatusCode.AlreadyExists, () => call)).Reason());
            else if (repeated.Contains(request))
            {
                var reply = await call;
                Assert.True(reply.Replayed, $"{request.OrderId} repeated");
                Assert.Equal(originals[int.Parse(request.OrderId[3..], System.Globalization.CultureInfo.InvariantCulture)], reply.Clone().Also(r => r.Replayed = false));
            }
            else
                Assert.False((await call).Replayed, $"{request.OrderId} is new");
        }

        var earned = originals.Sum(r => r.PointsEarned);
        foreach (var request in fresh)
            earned += (await server.Loyalty.RecordOrderAsync(request)).Also(r => Assert.True(r.Replayed)).PointsEarned;
        var account = await server.Loyalty.GetPointsAccountAsync(new GetPointsAccountRequest { Member = member });
        Assert.Equal(earned, account.Balance);
        var entries = await server.Loyalty.ListPointsEntriesAsync(new ListPointsEntriesRequest { Member = member, PageSize = 500 });
        Assert.Equal(6 + fresh.Count, entries.Entries.Count(e => e.Kind == PointsEntryKind.Earn));
        Assert.Empty((await server.Loyalty.VerifyLedgerAsync(new VerifyLedgerRequest())).Problems);
        if (server.IsPostgres)
            Assert.True(server.Service<IdentityStore>().GroupedWrites > 0, "no order shared a transaction with an earlier one");
    }

    [Fact]
    public async Task A_direct_order_right_after_a_publish_through_another_instance_earns_by_the_new_program()
    {
        // No Redis: the first instance hears of the publish only at its next refresh, seconds later; the order must not wait.
        await using var a = await IdentityServer.StartAsync();
        await using var b = await IdentityServer.StartAsync(a.DataDirectory);
        var phone = TestData.Phone();
        var member = new MemberKey { Phone = phone };
        await a.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone));
        RecordOrderRequest Order(string id) => new() { Member = member, Channel = Channel.Pos, OrderId = id, AmountFen = 10_000 };
        var before = await a.Loyalty.RecordOrderAsync(Order("P-1")); // opens the account: the next orders are direct
        Assert.Equal(before.PointsEarned, (await a.Loyalty.RecordOrderAsync(Order("P-2"))).PointsEarned);

        var current = await b.Loyalty.GetProgramAsync(new GetProgramRequest());
        var generous = current.ProgramJson.Replace("\"perYuan\": 1,", "\"perYuan\": 3,", StringComparison.Ordinal);
        Assert.NotEqual(current.ProgramJson, generous);
        await b.Loyalty.PublishProgramAsync(new PublishProgramRequest { ProgramJson = generous, ExpectedVersion = current.Version });

        var after = await a.Loyalty.RecordOrderAsync(Order("P-3"));
        Assert.Equal(3 * before.PointsEarned, after.PointsEarned);
        Assert.Equal(3 * before.PointsEarned, (await a.Loyalty.RecordOrderAsync(Order("P-4"))).PointsEarned);
    }

    [Fact]
    public async Task Repeats_of_an_order_queued_behind_it_are_answered_from_it_without_running_again()
    {
        // The direct write reads the order's key after it holds the member's rows: a repeat that waited there behind its
        // original sees it committed and replays. Read before the lock (as it was), every repeat that had missed the key
        // ran the order again, lost to the original on the unique keys, and was retried (PostgreSQL's write retries).
        await using var server = await IdentityServer.StartAsync();
        var phone = TestData.Phone();
        var member = new MemberKey { Phone = phone };
        await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone));
        RecordOrderRequest Order(string id, long amount = 25_000) => new()
        {
            Member = member, Channel = Channel.Pos, OrderId = id, StoreId = "S001", AmountFen = amount,
            PaidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-1)),
        };
        await server.Loyalty.RecordOrderAsync(Order("R-0")); // opens the account: the rest are direct
        var directBefore = server.Service<DirectOrderWrite>().Written;
        var retriesBefore = server.Service<Identity.Service.Storage.IdentityStore>().WriteRetries;

        for (var round = 1; round <= 5; round++)
        {
            var repeat = Order($"R-{round}");
            var replies = await Task.WhenAll(Enumerable.Range(0, 24).Select(_ => server.Loyalty.RecordOrderAsync(repeat).ResponseAsync));
            Assert.Single(replies, r => !r.Replayed);
            foreach (var reply in replies)
                Assert.Equal(replies[0].Clone().Also(r => r.Replayed = false), reply.Clone().Also(r => r.Replayed = false));
            // The same key with another request is refused, as it is when the key is looked up before the write.
            var reused = await Assert.ThrowsAsync<RpcException>(() => server.Loyalty.RecordOrderAsync(Order($"R-{round}", 99_900)).ResponseAsync);
            Assert.Equal(StatusCode.AlreadyExists, reused.StatusCode);
        }

        Assert.Equal(5, server.Service<DirectOrderWrite>().Written - directBefore);
        Assert.Equal(0, server.Service<Identity.Service.Storage.IdentityStore>().WriteRetries - retriesBefore);
        Assert.Equal(6, server.Scalar("SELECT COUNT(*) FROM points_entries WHERE \"Reference\" LIKE 'order:%R-%'"));
    }

    static RecordOrderResponse Without(RecordOrderResponse reply, string memberId)
    {
        Assert.Equal(memberId, reply.MemberId);
        var copy = reply.Clone();
        copy.MemberId = "";
        return copy;
    }
}
