using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Identity.IntegrationTests.Loyalty;

/// <summary>Points are money: retries never credit twice, concurrent redemptions never overdraw.</summary>
public sealed class LedgerConcurrencyTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    readonly LoyaltyService.LoyaltyServiceClient loyalty = fixture.Server.Loyalty;

    async Task<string> NewMemberAsync() =>
        (await fixture.Server.Members.EnrollMemberAsync(TestData.EnrollAtPos(TestData.Phone()))).Member.MemberId;

    // One paid-at for every order of the run: a retry of an order must carry the same payload.
    static readonly Timestamp PaidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-1));

    static RecordOrderRequest Order(string memberId, string orderId, long amountFen) => new()
    {
        Member = new MemberKey { MemberId = memberId }, Channel = Channel.Pos, OrderId = orderId, StoreId = "S001", GuideId = "G007",
        AmountFen = amountFen, PaidAt = PaidAt,
    };

    [Fact]
    public async Task Five_hundred_concurrent_identical_orders_credit_once()
    {
        var memberId = await NewMemberAsync();
        var request = Order(memberId, "O-" + Guid.NewGuid().ToString("N"), 29_900);

        var responses = await Task.WhenAll(Enumerable.Range(0, 500).Select(_ => loyalty.RecordOrderAsync(request).ResponseAsync));

        Assert.Single(responses, r => !r.Replayed);
        var first = responses.Single(r => !r.Replayed);
        Assert.True(first.PointsEarned > 0);
        Assert.All(responses, r => Assert.Equal(first.PointsEarned, r.PointsEarned));
        var account = await loyalty.GetPointsAccountAsync(new GetPointsAccountRequest { Member = new MemberKey { MemberId = memberId } });
        Assert.Equal(first.PointsEarned, account.Balance);
        var entries = await loyalty.ListPointsEntriesAsync(new ListPointsEntriesRequest { Member = new MemberKey { MemberId = memberId } });
        Assert.Single(entries.Entries);
        Assert.Empty((await loyalty.VerifyLedgerAsync(new VerifyLedgerRequest())).Problems);
    }

    [Fact]
    public async Task The_same_order_key_with_another_amount_is_refused_and_changes_nothing()
    {
        var memberId = await NewMemberAsync();
        var orderId = "O-" + Guid.NewGuid().ToString("N");
        var original = await loyalty.RecordOrderAsync(Order(memberId, orderId, 10_000));

        var reused = await Rpc.FailsWith(StatusCode.AlreadyExists, loyalty.RecordOrderAsync(Order(memberId, orderId, 99_900)));
        Assert.Equal("IDEMPOTENCY_KEY_REUSED", reused.Reason());

        var account = await loyalty.GetPointsAccountAsync(new GetPointsAccountRequest { Member = new MemberKey { MemberId = memberId } });
        Assert.Equal(original.PointsBalance, account.Balance);
        var replay = await loyalty.RecordOrderAsync(Order(memberId, orderId, 10_000));
        Assert.True(replay.Replayed);
        Assert.Equal(original.PointsEarned, replay.PointsEarned);
    }

    [Fact]
    public async Task Concurrent_redemptions_beyond_the_balance_never_overdraw()
    {
        var memberId = await NewMemberAsync();
        await loyalty.AdjustPointsAsync(new AdjustPointsRequest
        {
            Member = new MemberKey { MemberId = memberId }, RequestId = Guid.NewGuid().ToString(), Points = 1_000, Reason = "welcome", Operator = "ops",
        });

        // 30 redemptions of 70 points (2,100 in all) against a balance of 1,000.
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 30).Select(async i =>
        {
            try
            {
                var r = await loyalty.RedeemPointsAsync(new RedeemPointsRequest
                {
                    Member = new MemberKey { MemberId = memberId }, RequestId = $"R-{memberId}-{i}", Points = 70, Reason = "gift",
                });
                return (StatusCode.OK, r.PointsRedeemed, (string?)null);
            }
            catch (RpcException e)
            {
                return (e.StatusCode, 0L, e.Reason());
            }
        }));

        var redeemed = outcomes.Sum(o => o.Item2);
        Assert.Equal(14 * 70, redeemed);
        Assert.All(outcomes.Where(o => o.Item1 != StatusCode.OK), o =>
        {
            Assert.Equal(StatusCode.FailedPrecondition, o.Item1);
            Assert.Equal("INSUFFICIENT_POINTS", o.Item3);
        });
        var account = await loyalty.GetPointsAccountAsync(new GetPointsAccountRequest { Member = new MemberKey { MemberId = memberId } });
        Assert.Equal(1_000 - redeemed, account.Balance);
        Assert.Empty((await loyalty.VerifyLedgerAsync(new VerifyLedgerRequest())).Problems);
    }

    [Fact]
    public async Task A_repeated_redemption_returns_the_original_and_a_reused_id_with_other_points_is_refused()
    {
        var memberId = await NewMemberAsync();
        var member = new MemberKey { MemberId = memberId };
        await loyalty.AdjustPointsAsync(new AdjustPointsRequest { Member = member, RequestId = Guid.NewGuid().ToString(), Points = 500, Reason = "x", Operator = "ops" });
        var request = new RedeemPointsRequest { Member = member, RequestId = Guid.NewGuid().ToString(), Points = 200 };

        var first = await loyalty.RedeemPointsAsync(request);
        var again = await loyalty.RedeemPointsAsync(request);
        Assert.False(first.Replayed);
        Assert.True(again.Replayed);
        Assert.Equal(300, again.PointsBalance);

        request.Points = 100;
        await Rpc.FailsWith(StatusCode.AlreadyExists, loyalty.RedeemPointsAsync(request));
        Assert.Equal(300, (await loyalty.GetPointsAccountAsync(new GetPointsAccountRequest { Member = member })).Balance);
    }

    [Fact]
    public async Task Refunds_reverse_points_in_proportion_and_never_more_than_the_order_gave()
    {
        var memberId = await NewMemberAsync();
        var member = new MemberKey { MemberId = memberId };
        var orderId = "O-" + Guid.NewGuid().ToString("N");
        var order = await loyalty.RecordOrderAsync(Order(memberId, orderId, 100_000));

        var half = await loyalty.RecordRefundAsync(new RecordRefundRequest { Channel = Channel.Pos, OrderId = orderId, RefundId = orderId + "-r1", AmountFen = 50_000 });
        Assert.Equal(order.PointsEarned / 2, half.PointsReversed);
        Assert.Equal(order.GrowthEarned / 2, half.GrowthReversed);

        var tooMuch = await Rpc.FailsWith(StatusCode.FailedPrecondition,
            loyalty.RecordRefundAsync(new RecordRefundRequest { Channel = Channel.Pos, OrderId = orderId, RefundId = orderId + "-r2", AmountFen = 50_001 }));
        Assert.Equal("REFUND_EXCEEDS_ORDER", tooMuch.Reason());

        var rest = await loyalty.RecordRefundAsync(new RecordRefundRequest { Channel = Channel.Pos, OrderId = orderId, RefundId = orderId + "-r3", AmountFen = 50_000 });
        Assert.Equal(order.PointsEarned, half.PointsReversed + rest.PointsReversed);
        Assert.Equal(0, rest.PointsBalance);
        var replay = await loyalty.RecordRefundAsync(new RecordRefundRequest { Channel = Channel.Pos, OrderId = orderId, RefundId = orderId + "-r3", AmountFen = 50_000 });
        Assert.True(replay.Replayed);
        Assert.Equal(0, (await loyalty.GetPointsAccountAsync(new GetPointsAccountRequest { Member = member })).Balance);

        await Rpc.FailsWith(StatusCode.NotFound,
            loyalty.RecordRefundAsync(new RecordRefundRequest { Channel = Channel.Pos, OrderId = "never-recorded", RefundId = "x", AmountFen = 1 }));
    }

    [Fact]
    public async Task A_merge_moves_points_and_orders_to_the_survivor_and_the_ledger_stays_consistent()
    {
        var survivorId = await NewMemberAsync();
        var fanOpenId = TestData.OpenId();
        var fan = (await fixture.Server.Members.EnrollMemberAsync(TestData.EnrollFan(fanOpenId))).Member.MemberId;
        var fanOrder = "O-" + Guid.NewGuid().ToString("N");
        var earned = await loyalty.RecordOrderAsync(Order(fan, fanOrder, 50_000));
        await loyalty.RecordOrderAsync(Order(survivorId, "O-" + Guid.NewGuid().ToString("N"), 10_000));
        var survivorBefore = (await loyalty.GetPointsAccountAsync(new GetPointsAccountRequest { Member = new MemberKey { MemberId = survivorId } })).Balance;

        await fixture.Server.Members.MergeMembersAsync(new MergeMembersRequest { SurvivorMemberId = survivorId, AbsorbedMemberId = fan, Reason = "dup", Operator = "ops" });

        var after = await loyalty.GetPointsAccountAsync(new GetPointsAccountRequest { Member = new MemberKey { MemberId = survivorId } });
        Assert.Equal(survivorBefore + earned.PointsEarned, after.Balance);
        // The fan's order now belongs to the survivor: its refund is taken from the survivor.
        var refund = await loyalty.RecordRefundAsync(new RecordRefundRequest { Channel = Channel.Pos, OrderId = fanOrder, RefundId = fanOrder + "-r", AmountFen = 50_000 });
        Assert.Equal(survivorId, refund.MemberId);
        Assert.Empty((await loyalty.VerifyLedgerAsync(new VerifyLedgerRequest())).Problems);
    }
}
