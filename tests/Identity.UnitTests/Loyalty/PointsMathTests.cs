using Identity.Service.Loyalty;

namespace Identity.UnitTests.Loyalty;

public sealed class PointsMathTests
{
    [Theory]
    [InlineData(9999, 1000, 1000, 99)]      // 99.99 yuan → 99 points
    [InlineData(9999, 1000, 1500, 149)]     // x1.5 = 149.985
    [InlineData(12345, 500, 1000, 61)]      // partner rate 0.5 = 61.725
    [InlineData(99, 1000, 3500, 3)]         // 0.99 yuan x3.5 = 3.465
    [InlineData(1, 1000, 10000, 0)]
    [InlineData(0, 1000, 1000, 0)]
    [InlineData(1_000_000_000_000_000, 1000, 10000, 100_000_000_000_000)] // 10^13 yuan x10: the product overflows a long on the way
    public void Order_points_round_down(long fen, int perYuanMilli, int multiplierMilli, long points)
    {
        Assert.Equal(points, PointsMath.OrderPoints(fen, perYuanMilli, multiplierMilli));
    }

    [Theory]
    [InlineData(9999, 1000, 99)]
    [InlineData(150, 1500, 2)]
    [InlineData(long.MaxValue, 1000, long.MaxValue / 100)]
    public void Growth_rounds_down(long fen, int perYuanMilli, long growth)
    {
        Assert.Equal(growth, PointsMath.Growth(fen, perYuanMilli));
    }

    [Theory]
    [InlineData(100, 50, 100, 50)]
    [InlineData(10, 1, 3, 3)]
    [InlineData(1, 99, 100, 0)]
    [InlineData(10, 3, 3, 10)]
    [InlineData(10, 5, 3, 10)] // more refunded than paid: never more than given
    [InlineData(0, 3, 3, 0)]
    [InlineData(long.MaxValue, long.MaxValue - 1, long.MaxValue, long.MaxValue - 1)] // exact, no overflow
    public void Proportion_is_floored_and_bounded(long given, long refunded, long order, long expected)
    {
        Assert.Equal(expected, PointsMath.Proportion(given, refunded, order));
    }

    [Fact]
    public void Cumulative_proportions_reverse_exactly_over_partial_refunds()
    {
        const long given = 10, order = 3;
        long reversed = 0, refunded = 0;
        foreach (var refund in new long[] { 1, 1, 1 })
        {
            reversed += PointsMath.Proportion(given, refunded + refund, order) - PointsMath.Proportion(given, refunded, order);
            refunded += refund;
        }

        Assert.Equal(given, reversed);
    }

    [Fact]
    public void Negative_amounts_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PointsMath.OrderPoints(-1, 1000, 1000));
        Assert.Throws<ArgumentOutOfRangeException>(() => PointsMath.Growth(-1, 1000));
        Assert.Throws<ArgumentOutOfRangeException>(() => PointsMath.Proportion(10, -1, 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => PointsMath.Proportion(10, 1, 0));
    }

    [Theory]
    [InlineData("2026-12-31T15:59:59Z", "2027-12-31T16:00:00Z")] // 23:59:59 on 31 Dec 2026 local → end of 2027
    [InlineData("2026-12-31T16:00:00Z", "2028-12-31T16:00:00Z")] // 00:00 on 1 Jan 2027 local → end of 2028
    [InlineData("2026-01-01T00:00:00Z", "2027-12-31T16:00:00Z")]
    public void End_of_year_expiry_follows_the_shanghai_year(string earned, string expires)
    {
        Assert.Equal(Utc(expires), PointsMath.ExpiresAt(DefaultProgram.Load(), Utc(earned)));
    }

    [Fact]
    public void Longer_end_of_year_expiry_adds_whole_years()
    {
        var program = DefaultProgram.Load() with { Points = DefaultProgram.Load().Points with { Expiry = new(PointsExpiryKind.EndOfYear, 24) } };
        Assert.Equal(Utc("2028-12-31T16:00:00Z"), PointsMath.ExpiresAt(program, Utc("2026-06-01T00:00:00Z")));
    }

    [Theory]
    [InlineData("2026-03-15T15:59:59Z", 24, "2028-03-15T16:00:00Z")] // 15 March local → usable through 15 March 2028
    [InlineData("2026-03-15T16:00:00Z", 24, "2028-03-16T16:00:00Z")] // 16 March local
    [InlineData("2024-02-29T04:00:00Z", 12, "2025-02-28T16:00:00Z")] // leap day → 28 February
    [InlineData("2026-01-31T04:00:00Z", 1, "2026-02-28T16:00:00Z")]
    public void Rolling_expiry_ends_with_the_brand_local_day(string earned, int months, string expires)
    {
        var program = DefaultProgram.Load() with
        {
            Points = DefaultProgram.Load().Points with { Expiry = new(PointsExpiryKind.RollingMonths, months) },
        };
        Assert.Equal(Utc(expires), PointsMath.ExpiresAt(program, Utc(earned)));
    }

    [Theory]
    [InlineData("2026-05-12T15:59:59Z", "2026-05-12")]
    [InlineData("2026-05-12T16:00:00Z", "2026-05-13")]
    [InlineData("2026-05-12T23:30:00Z", "2026-05-13")]
    public void Local_date_is_the_shanghai_date(string at, string date)
    {
        Assert.Equal(DateOnly.Parse(date, System.Globalization.CultureInfo.InvariantCulture), PointsMath.LocalDate(DefaultProgram.Load(), Utc(at)));
    }

    private static DateTimeOffset Utc(string iso) => DateTimeOffset.Parse(iso, System.Globalization.CultureInfo.InvariantCulture);
}
