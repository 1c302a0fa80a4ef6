using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Identity.Service.Errors;
using Identity.Service.Loyalty;
using Identity.V1;

namespace Identity.UnitTests.Loyalty;

/// <summary>Timestamps, time bounds and numeric ranges of loyalty requests: every violation names its field.</summary>
public sealed class LoyaltyRequestsTests
{
    static readonly DateTimeOffset Now = new(2026, 6, 15, 10, 0, 0, TimeSpan.Zero);
    static readonly TimeSpan Window = TimeSpan.FromDays(30);
    static readonly TimeZoneInfo Shanghai = TimeZoneInfo.FindSystemTimeZoneById("Asia/Shanghai");
    static MemberKey Member => new() { MemberId = "m1" };

    static List<string> ViolatedFields(Action read)
    {
        var error = Assert.Throws<IdentityException>(read);
        Assert.Equal(StatusCode.InvalidArgument, error.Code);
        return error.Violations.Select(v => v.Field).ToList();
    }

    static RecordOrderRequest Order(Timestamp? paidAt, long amount = 100) =>
        new() { Member = Member, Channel = Channel.Pos, OrderId = "O1", AmountFen = amount, PaidAt = paidAt };

    public static TheoryData<string, Timestamp> InvalidTimestamps => new()
    {
        { "before year 1", new Timestamp { Seconds = -62_135_596_801 } },
        { "after year 9999", new Timestamp { Seconds = 253_402_300_800 } },
        { "most negative", new Timestamp { Seconds = long.MinValue } },
        { "largest", new Timestamp { Seconds = long.MaxValue } },
        { "negative nanos", new Timestamp { Seconds = 1_700_000_000, Nanos = -1 } },
        { "nanos of a whole second", new Timestamp { Seconds = 1_700_000_000, Nanos = 1_000_000_000 } },
    };

    [Theory]
    [MemberData(nameof(InvalidTimestamps))]
    public void An_out_of_range_timestamp_names_its_field_in_every_request(string because, Timestamp bad)
    {
        _ = because;
        Assert.Equal(["paid_at"], ViolatedFields(() => LoyaltyRequests.Read(Order(bad), Now, Window)));
        Assert.Equal(["refunded_at"], ViolatedFields(() => LoyaltyRequests.Read(
            new RecordRefundRequest { Channel = Channel.Pos, OrderId = "O1", RefundId = "R1", AmountFen = 1, RefundedAt = bad }, Now, Window)));
        Assert.Equal(["paid_at"], ViolatedFields(() => LoyaltyRequests.Read(
            new PurchaseMembershipRequest { Member = Member, RequestId = "r", TierCode = "black", PaidFen = 1, PaidAt = bad }, Now, Window)));
        Assert.Equal(["at"], ViolatedFields(() => LoyaltyRequests.Read(new CheckInRequest { Member = Member, Channel = Channel.App, At = bad }, Now, Shanghai)));
        Assert.Equal(["context.at"], ViolatedFields(() => LoyaltyRequests.Read(
            new GetBenefitsRequest { Member = Member, Context = new BenefitContext { Channel = Channel.Pos, At = bad } }, Now)));
        Assert.Equal(["as_of"], ViolatedFields(() => LoyaltyRequests.Read(new RunMaintenanceRequest { AsOf = bad }, Now)));
    }

    [Fact]
    public void Paid_at_defaults_to_now_and_must_lie_in_the_late_order_window()
    {
        var absent = LoyaltyRequests.Read(Order(null), Now, Window);
        Assert.Equal(Now, absent.PaidAt);

        Assert.Equal(Now - Window, LoyaltyRequests.Read(Order(Timestamp.FromDateTimeOffset(Now - Window)), Now, Window).PaidAt);
        LoyaltyRequests.Read(Order(Timestamp.FromDateTimeOffset(Now.AddMinutes(5))), Now, Window);
        Assert.Equal(["paid_at"], ViolatedFields(() => LoyaltyRequests.Read(Order(Timestamp.FromDateTimeOffset(Now - Window - TimeSpan.FromSeconds(1))), Now, Window)));
        Assert.Equal(["paid_at"], ViolatedFields(() => LoyaltyRequests.Read(Order(Timestamp.FromDateTimeOffset(Now.AddMinutes(5).AddSeconds(1))), Now, Window)));
        Assert.Equal(["paid_at"], ViolatedFields(() => LoyaltyRequests.Read(Order(Timestamp.FromDateTimeOffset(Now.AddDays(-3))), Now, TimeSpan.FromDays(1))));
    }

    [Theory]
    [InlineData("2026-06-15T16:05:00Z", "2026-06-16T00:04:00+08:00", true)] // just after local midnight, same day
    [InlineData("2026-06-15T16:02:00Z", "2026-06-15T23:59:00+08:00", true)] // till 3 minutes behind across midnight
    [InlineData("2026-06-15T15:58:00Z", "2026-06-16T00:02:00+08:00", true)] // till 4 minutes ahead across midnight
    [InlineData("2026-06-15T15:58:00Z", "2026-06-16T00:04:00+08:00", false)] // 6 minutes ahead
    [InlineData("2026-06-15T16:30:00Z", "2026-06-15T23:59:00+08:00", false)] // yesterday, local
    [InlineData("2026-06-15T10:00:00Z", "2026-06-15T00:00:30+08:00", true)] // early this local morning
    [InlineData("2026-06-15T10:00:00Z", "2026-06-14T12:00:00+08:00", false)]
    public void A_check_in_is_for_the_brand_local_today_with_five_minutes_of_skew(string now, string at, bool accepted)
    {
        var request = new CheckInRequest { Member = Member, Channel = Channel.App, At = Timestamp.FromDateTimeOffset(DateTimeOffset.Parse(at, System.Globalization.CultureInfo.InvariantCulture)) };
        var clock = DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture);
        if (accepted)
            LoyaltyRequests.Read(request, clock, Shanghai);
        else
            Assert.Equal(["at"], ViolatedFields(() => LoyaltyRequests.Read(request, clock, Shanghai)));
    }

    [Fact]
    public void A_benefit_context_is_within_a_year_of_now()
    {
        GetBenefitsRequest At(DateTimeOffset at) => new() { Member = Member, Context = new BenefitContext { Channel = Channel.Pos, At = Timestamp.FromDateTimeOffset(at) } };
        LoyaltyRequests.Read(At(Now.AddDays(364)), Now);
        LoyaltyRequests.Read(At(Now.AddDays(-364)), Now);
        Assert.Equal(["context.at"], ViolatedFields(() => LoyaltyRequests.Read(At(Now.AddDays(366)), Now)));
        Assert.Equal(["context.at"], ViolatedFields(() => LoyaltyRequests.Read(At(Now.AddYears(-5)), Now)));
    }

    [Theory]
    [InlineData(long.MinValue)]
    [InlineData(long.MaxValue)]
    [InlineData(-1_000_000_001)]
    [InlineData(1_000_000_001)]
    [InlineData(0)]
    public void Points_out_of_range_name_the_field_without_overflowing(long points)
    {
        Assert.Equal(["points"], ViolatedFields(() => LoyaltyRequests.Read(new AdjustPointsRequest { Member = Member, RequestId = "r", Points = points, Reason = "x", Operator = "op" })));
        if (points != 0 && points is not (-1_000_000_001))
            Assert.Equal(["points"], ViolatedFields(() => LoyaltyRequests.Read(new RedeemPointsRequest { Member = Member, RequestId = "r", Points = points })));
    }

    [Theory]
    [InlineData(long.MinValue)]
    [InlineData(long.MaxValue)]
    [InlineData(10_000_000_001)]
    [InlineData(-5)]
    public void Amounts_out_of_range_name_the_field(long amount)
    {
        Assert.Equal(["amount_fen"], ViolatedFields(() => LoyaltyRequests.Read(Order(null, amount), Now, Window)));
        Assert.Equal(["paid_fen"], ViolatedFields(() => LoyaltyRequests.Read(
            new PurchaseMembershipRequest { Member = Member, RequestId = "r", TierCode = "black", PaidFen = amount }, Now, Window)));
    }
}
