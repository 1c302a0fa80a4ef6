namespace Identity.Service.Loyalty;

/// <summary>Points and growth arithmetic: integers only, rounding down, so a member is never credited a fraction the ledger cannot hold.</summary>
public static class PointsMath
{
    /// <summary>floor(yuan × rate × multiplier): <paramref name="perYuanMilli"/> and <paramref name="multiplierMilli"/> in thousandths.</summary>
    public static long OrderPoints(long amountFen, int perYuanMilli, int multiplierMilli)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amountFen);
        ArgumentOutOfRangeException.ThrowIfNegative(perYuanMilli);
        ArgumentOutOfRangeException.ThrowIfNegative(multiplierMilli);
        return Saturate((Int128)amountFen * perYuanMilli * multiplierMilli / (100 * 1000 * 1000));
    }

    /// <summary>floor(yuan × rate), the rate in thousandths.</summary>
    public static long Growth(long amountFen, int perYuanMilli)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(amountFen);
        ArgumentOutOfRangeException.ThrowIfNegative(perYuanMilli);
        return Saturate((Int128)amountFen * perYuanMilli / (100 * 1000));
    }

    /// <summary>
    /// The share of <paramref name="given"/> (points or growth an order gave) that a refund takes back:
    /// floor(given × refunded / order), never more than given. Over several partial refunds, reverse
    /// Proportion(given, refunded so far, order) − Proportion(given, refunded before, order) so the total comes out exact.
    /// </summary>
    public static long Proportion(long given, long refundedFen, long orderFen)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(given);
        ArgumentOutOfRangeException.ThrowIfNegative(refundedFen);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(orderFen);
        return refundedFen >= orderFen ? given : (long)((Int128)given * refundedFen / orderFen);
    }

    /// <summary>
    /// When points earned at an instant expire: the instant their last brand-local day ends (the next local midnight).
    /// Points are usable strictly before it.
    /// </summary>
    public static DateTimeOffset ExpiresAt(LoyaltyProgram p, DateTimeOffset earnedAt)
    {
        var earned = LocalDate(p, earnedAt);
        var expiry = p.Points.Expiry;
        var lastDay = expiry.Kind == PointsExpiryKind.EndOfYear
            ? new DateOnly(earned.Year + expiry.Months / 12, 12, 31)
            : earned.AddMonths(expiry.Months);
        return BrandTime.StartOfDay(p.TimeZone, lastDay.AddDays(1));
    }

    public static DateOnly LocalDate(LoyaltyProgram p, DateTimeOffset at) => BrandTime.LocalDate(p.TimeZone, at);

    private static long Saturate(Int128 value) => value > long.MaxValue ? long.MaxValue : (long)value;
}
