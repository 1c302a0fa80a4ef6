namespace Identity.Service.Loyalty;

/// <summary>Brand-local calendar arithmetic: calendar rules (birthday month, member day, expiry, assessment dates) follow the brand's wall clock.</summary>
internal static class BrandTime
{
    public static DateTime LocalDateTime(TimeZoneInfo zone, DateTimeOffset at) => TimeZoneInfo.ConvertTime(at, zone).DateTime;

    public static DateOnly LocalDate(TimeZoneInfo zone, DateTimeOffset at) => DateOnly.FromDateTime(LocalDateTime(zone, at));

    /// <summary>The instant a brand-local wall-clock time happens, in UTC.</summary>
    public static DateTimeOffset Instant(TimeZoneInfo zone, DateTime local)
    {
        var unspecified = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        return new DateTimeOffset(unspecified, zone.GetUtcOffset(unspecified)).ToUniversalTime();
    }

    /// <summary>The instant a brand-local day begins.</summary>
    public static DateTimeOffset StartOfDay(TimeZoneInfo zone, DateOnly date) => Instant(zone, date.ToDateTime(TimeOnly.MinValue));

    /// <summary>
    /// Adds calendar months on the brand's wall clock (31 Jan + 1 month = 28/29 Feb, same time of day), so an
    /// assessment date stays on the member's local calendar day whatever the UTC offset of the stored instant.
    /// </summary>
    public static DateTimeOffset AddMonths(TimeZoneInfo zone, DateTimeOffset at, int months) =>
        Instant(zone, LocalDateTime(zone, at).AddMonths(months));
}
