using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Identity.IntegrationTests.Loyalty;

/// <summary>
/// Rules that turn on the calendar, through the real server with its clock under the test's control. The default
/// program: 普通 0 / 银卡 1000 / 金卡 5000 growth, 黑金 paid (29900 fen, 365 days), 1 point and 1 growth per yuan,
/// points usable until the end of the year after they were earned, 5 points per daily check-in, Asia/Shanghai.
/// </summary>
public sealed class TimeRulesTests : IAsyncLifetime
{
    // A Tuesday, 10:00 in Shanghai: no member day, and the test members have no birthday.
    static readonly DateTimeOffset Start = new(2026, 3, 10, 2, 0, 0, TimeSpan.Zero);
    readonly ManualClock clock = new(Start);
    IdentityServer server = null!;

    public async Task InitializeAsync() => server = await IdentityServer.StartAsync(null, clock, "--Identity:Maintenance:IntervalMinutes=0");

    public async Task DisposeAsync() => await server.DisposeAsync();

    async Task<MemberKey> NewMemberAsync() =>
        new() { MemberId = (await server.Members.EnrollMemberAsync(new EnrollMemberRequest { Phone = TestData.Phone(), Source = TestData.Pos() })).Member.MemberId };

    Task<RecordOrderResponse> OrderAsync(MemberKey member, long yuan) => server.Loyalty.RecordOrderAsync(new RecordOrderRequest
    {
        Member = member, Channel = Channel.Pos, OrderId = "O-" + Guid.NewGuid().ToString("N"), StoreId = "S001", AmountFen = yuan * 100,
        PaidAt = Timestamp.FromDateTimeOffset(clock.GetUtcNow()),
    }).ResponseAsync;

    async Task<BenefitQuote> QuoteAsync(MemberKey member) => (await server.Loyalty.GetBenefitsAsync(new GetBenefitsRequest
    {
        Member = member, Context = new BenefitContext { Channel = Channel.Pos, StoreId = "S001" },
    })).Quote;

    Task<RunMaintenanceResponse> MaintainAsync() => server.Loyalty.RunMaintenanceAsync(new RunMaintenanceRequest()).ResponseAsync;

    [Fact]
    public async Task Crossing_a_threshold_upgrades_at_once()
    {
        var member = await NewMemberAsync();

        var first = await OrderAsync(member, 999);
        Assert.Equal("regular", first.Tier.Code);
        Assert.False(first.Upgraded);
        Assert.Equal(999, first.PointsEarned);

        var second = await OrderAsync(member, 1);
        Assert.True(second.Upgraded);
        Assert.Equal("silver", second.Tier.Code);
        var quote = await QuoteAsync(member);
        Assert.Equal("银卡", quote.Tier.Name);
        Assert.Equal(1000, quote.Growth);
        Assert.Equal("gold", quote.NextTier.Code);
        Assert.Equal(4000, quote.GrowthToNextTier);
        Assert.Equal(500, quote.EffectiveDiscountBp);
    }

    [Fact]
    public async Task A_downgrade_waits_for_the_assessment_date_and_drops_one_tier_at_a_time()
    {
        var member = await NewMemberAsync();
        Assert.Equal("gold", (await OrderAsync(member, 5000)).Tier.Code);

        // Eleven months on the growth is still counted and no assessment is due.
        clock.Advance(TimeSpan.FromDays(335));
        await MaintainAsync();
        Assert.Equal("gold", (await QuoteAsync(member)).Tier.Code);

        // A year and a day on, the purchase has left the window: growth 0, but gold drops only to silver.
        clock.Set(Start.AddMonths(12).AddDays(1));
        var run = await MaintainAsync();
        Assert.True(run.MembersDowngraded >= 1);
        var quote = await QuoteAsync(member);
        Assert.Equal("silver", quote.Tier.Code);
        Assert.Equal(0, quote.Growth);

        // Running it again the same day changes nothing; the next year's assessment drops the next tier.
        await MaintainAsync();
        Assert.Equal("silver", (await QuoteAsync(member)).Tier.Code);
        clock.Set(Start.AddMonths(24).AddDays(2));
        await MaintainAsync();
        Assert.Equal("regular", (await QuoteAsync(member)).Tier.Code);
    }

    [Fact]
    public async Task A_paid_tier_holds_until_it_expires_and_renewal_extends_it()
    {
        var member = await NewMemberAsync();
        var bought = await server.Loyalty.PurchaseMembershipAsync(new PurchaseMembershipRequest
        {
            Member = member, RequestId = "pay-" + Guid.NewGuid().ToString("N"), TierCode = "black", PaidFen = 29_900, Channel = Channel.WechatMiniProgram,
        });
        Assert.False(bought.Renewed);
        Assert.Equal(Start.AddDays(365), bought.ExpiresAt.ToDateTimeOffset());
        var quote = await QuoteAsync(member);
        Assert.Equal("black", quote.Tier.Code);
        Assert.True(quote.Tier.Paid);
        Assert.Equal("regular", quote.GrowthTier.Code);
        Assert.Equal(1500, quote.EffectiveDiscountBp);

        var wrongPrice = await Rpc.FailsWith(StatusCode.InvalidArgument, server.Loyalty.PurchaseMembershipAsync(new PurchaseMembershipRequest
        {
            Member = member, RequestId = "pay-" + Guid.NewGuid().ToString("N"), TierCode = "black", PaidFen = 100,
        }));
        Assert.Equal(["paid_fen"], wrongPrice.BadFields());

        clock.Advance(TimeSpan.FromDays(300));
        var renewed = await server.Loyalty.PurchaseMembershipAsync(new PurchaseMembershipRequest
        {
            Member = member, RequestId = "pay-" + Guid.NewGuid().ToString("N"), TierCode = "black", PaidFen = 29_900,
        });
        Assert.True(renewed.Renewed);
        Assert.Equal(Start.AddDays(730), renewed.ExpiresAt.ToDateTimeOffset());

        clock.Set(Start.AddDays(731));
        var run = await MaintainAsync();
        Assert.True(run.PaidTiersEnded >= 1);
        Assert.Equal("regular", (await QuoteAsync(member)).Tier.Code);
    }

    [Fact]
    public async Task Points_expire_at_the_end_of_the_year_after_they_were_earned()
    {
        var member = await NewMemberAsync();
        var order = await OrderAsync(member, 300);
        // Earned in 2026: usable through 31 December 2027, brand-local.
        var endOf2027InShanghai = new DateTimeOffset(2028, 1, 1, 0, 0, 0, TimeSpan.FromHours(8));
        Assert.Equal(endOf2027InShanghai, order.PointsExpireAt.ToDateTimeOffset());

        clock.Set(endOf2027InShanghai.AddSeconds(-1));
        await MaintainAsync();
        var before = await server.Loyalty.GetPointsAccountAsync(new GetPointsAccountRequest { Member = member });
        Assert.Equal(300, before.Balance);
        Assert.Equal(300, before.ExpiringWithin30Days);

        clock.Set(endOf2027InShanghai.AddSeconds(1));
        var run = await MaintainAsync();
        Assert.True(run.PointsExpired >= 300);
        var after = await server.Loyalty.GetPointsAccountAsync(new GetPointsAccountRequest { Member = member });
        Assert.Equal(0, after.Balance);
        var entries = await server.Loyalty.ListPointsEntriesAsync(new ListPointsEntriesRequest { Member = member });
        Assert.Equal(PointsEntryKind.Expire, entries.Entries[0].Kind);
        Assert.Equal(-300, entries.Entries[0].Points);
        Assert.Empty((await server.Loyalty.VerifyLedgerAsync(new VerifyLedgerRequest())).Problems);
    }

    [Fact]
    public async Task Check_in_grants_once_per_brand_local_day()
    {
        var member = await NewMemberAsync();

        clock.Set(new DateTimeOffset(2026, 3, 10, 23, 59, 0, TimeSpan.FromHours(8)));
        var lateEvening = await server.Loyalty.CheckInAsync(new CheckInRequest { Member = member, Channel = Channel.WechatMiniProgram });
        Assert.Equal(5, lateEvening.PointsGranted);
        Assert.Equal("2026-03-10", lateEvening.LocalDate);
        var again = await server.Loyalty.CheckInAsync(new CheckInRequest { Member = member, Channel = Channel.WechatMiniProgram });
        Assert.True(again.AlreadyCheckedIn);
        Assert.Equal(0, again.PointsGranted);

        // 16:00 UTC is midnight in Shanghai: a new day there, though still the same UTC day.
        clock.Set(new DateTimeOffset(2026, 3, 10, 16, 0, 30, TimeSpan.Zero));
        var afterMidnight = await server.Loyalty.CheckInAsync(new CheckInRequest { Member = member, Channel = Channel.WechatMiniProgram });
        Assert.Equal(5, afterMidnight.PointsGranted);
        Assert.Equal("2026-03-11", afterMidnight.LocalDate);
        Assert.Equal(10, afterMidnight.PointsBalance);
    }

    [Fact]
    public async Task Writes_recorded_inside_the_late_order_window_replay_after_their_date_ages_out_and_new_ones_are_refused()
    {
        var phone = TestData.Phone();
        var member = new MemberKey { MemberId = (await server.Members.EnrollMemberAsync(new EnrollMemberRequest { Phone = phone, Source = TestData.Pos() })).Member.MemberId };
        var dated = Timestamp.FromDateTimeOffset(clock.GetUtcNow().AddDays(-29));
        var order = new RecordOrderRequest
        {
            Member = member, Channel = Channel.Pos, OrderId = "LATE-" + Guid.NewGuid().ToString("N"), StoreId = "S001", AmountFen = 50_000, PaidAt = dated,
        };
        var refund = new RecordRefundRequest
        {
            Channel = Channel.Pos, OrderId = order.OrderId, RefundId = "R-" + order.OrderId, AmountFen = 10_000, RefundedAt = dated,
        };
        var purchase = new PurchaseMembershipRequest
        {
            Member = member, RequestId = "pay-" + Guid.NewGuid().ToString("N"), TierCode = "black", PaidFen = 29_900, PaidAt = dated,
        };
        var queued = new RecordOrderRequest(order) { OrderId = order.OrderId + "-queued", AmountFen = 20_000 };
        var partner = new PartnerService.PartnerServiceClient(server.WithKey(await server.CreateClientAsync("partner", ClientRole.Partner)));
        await server.Members.SetConsentAsync(new SetConsentRequest
        {
            MemberId = member.MemberId, Purpose = ConsentPurpose.PartnerSharing, Granted = true, Channel = Channel.WechatMiniProgram,
        });
        var partnerOrder = new RecordPartnerOrderRequest { Phone = phone, OrderId = "P-" + order.OrderId, AmountFen = 10_000, PaidAt = dated };
        var partnerRecorded = await partner.RecordPartnerOrderAsync(partnerOrder);
        var recorded = await server.Loyalty.RecordOrderAsync(order);
        var refunded = await server.Loyalty.RecordRefundAsync(refund);
        var bought = await server.Loyalty.PurchaseMembershipAsync(purchase);
        var batch = new RecordOrdersRequest { Orders = { queued } };
        var replayedBatch = await server.Loyalty.RecordOrdersAsync(batch);
        Assert.NotNull(replayedBatch.Results[0].Recorded);
        var balance = (await server.Loyalty.GetPointsAccountAsync(new GetPointsAccountRequest { Member = member })).Balance;
        var entriesBefore = (await server.Loyalty.ListPointsEntriesAsync(new ListPointsEntriesRequest { Member = member, PageSize = 100 })).Entries.Count;

        // Two days on, every date above is 31 days old: the till that retries them the next day gets the kept replies.
        clock.Advance(TimeSpan.FromDays(2));
        var again = await server.Loyalty.RecordOrderAsync(order);
        Assert.True(again.Replayed);
        Assert.Equal(recorded.PointsEarned, again.PointsEarned);
        Assert.Equal(recorded.PointsBalance, again.PointsBalance);
        var refundAgain = await server.Loyalty.RecordRefundAsync(refund);
        Assert.True(refundAgain.Replayed);
        Assert.Equal(refunded.PointsReversed, refundAgain.PointsReversed);
        var boughtAgain = await server.Loyalty.PurchaseMembershipAsync(purchase);
        Assert.True(boughtAgain.Replayed);
        Assert.Equal(bought.ExpiresAt, boughtAgain.ExpiresAt);
        var partnerAgain = await partner.RecordPartnerOrderAsync(partnerOrder);
        Assert.True(partnerAgain.Replayed);
        Assert.Equal(partnerRecorded.PointsEarned, partnerAgain.PointsEarned);
        var partnerNever = await Rpc.FailsWith(StatusCode.InvalidArgument,
            partner.RecordPartnerOrderAsync(new RecordPartnerOrderRequest(partnerOrder) { OrderId = partnerOrder.OrderId + "-never" }));
        Assert.Equal("LATE_ORDER", partnerNever.FieldReason("paid_at"));
        var mixed = new RecordOrdersRequest { Orders = { queued, new RecordOrderRequest(queued) { OrderId = queued.OrderId + "-never" } } };
        var batchAgain = await server.Loyalty.RecordOrdersAsync(mixed);
        Assert.True(batchAgain.Results[0].Recorded.Replayed);
        Assert.Equal(replayedBatch.Results[0].Recorded.PointsEarned, batchAgain.Results[0].Recorded.PointsEarned);
        // One never recorded is too old to record now.
        Assert.Equal("LATE_ORDER", batchAgain.Results[1].Error.Reason);
        Assert.Equal("paid_at", batchAgain.Results[1].Error.Field);
        var never = await Rpc.FailsWith(StatusCode.InvalidArgument,
            server.Loyalty.RecordOrderAsync(new RecordOrderRequest(order) { OrderId = order.OrderId + "-never" }));
        Assert.Equal("LATE_ORDER", never.FieldReason("paid_at"));
        var neverRefunded = await Rpc.FailsWith(StatusCode.InvalidArgument,
            server.Loyalty.RecordRefundAsync(new RecordRefundRequest(refund) { RefundId = refund.RefundId + "-never" }));
        Assert.Equal("LATE_ORDER", neverRefunded.FieldReason("refunded_at"));
        // The key of a recorded order with another payload is still that key's conflict, late or not.
        var reused = await Rpc.FailsWith(StatusCode.AlreadyExists, server.Loyalty.RecordOrderAsync(new RecordOrderRequest(order) { AmountFen = 50_001 }));
        Assert.Equal("IDEMPOTENCY_KEY_REUSED", reused.Reason());

        Assert.Equal(balance, (await server.Loyalty.GetPointsAccountAsync(new GetPointsAccountRequest { Member = member })).Balance);
        var entries = await server.Loyalty.ListPointsEntriesAsync(new ListPointsEntriesRequest { Member = member, PageSize = 100 });
        Assert.Equal(entriesBefore, entries.Entries.Count); // nothing doubled
        Assert.Empty((await server.Loyalty.VerifyLedgerAsync(new VerifyLedgerRequest())).Problems);
    }

    [Fact]
    public async Task An_order_dated_within_the_clock_skew_ahead_counts_its_growth_and_upgrades_at_once()
    {
        var member = await NewMemberAsync();
        var ahead = await server.Loyalty.RecordOrderAsync(new RecordOrderRequest
        {
            Member = member, Channel = Channel.Pos, OrderId = "O-" + Guid.NewGuid().ToString("N"), StoreId = "S001", AmountFen = 100_000,
            PaidAt = Timestamp.FromDateTimeOffset(clock.GetUtcNow().AddMinutes(4)),
        });
        Assert.True(ahead.Upgraded);
        Assert.Equal("silver", ahead.Tier.Code);
        var quote = await QuoteAsync(member);
        Assert.Equal(1000, quote.Growth);
        Assert.Equal("silver", quote.Tier.Code);

        // The next order (the common, direct path) counts it too.
        var next = await OrderAsync(member, 1);
        Assert.False(next.Upgraded);
        Assert.Equal(1001, (await QuoteAsync(member)).Growth);
    }
}
