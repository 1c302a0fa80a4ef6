using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Identity.V1;

namespace Identity.Cli.Import;

/// <summary>
/// Turns one CSV record into an ImportRow. A value that cannot be converted to its field's type is not guessed at:
/// the row is still sent, with the field named in <c>unparsed_fields</c>, and the server rejects it with that field's
/// reason (invalid_points, invalid_birthday, invalid_registered_at, invalid_field), so the import's totals account for
/// every record and the order of precedence of reasons is the server's alone.
/// </summary>
internal sealed class RowConverter(int[] columns, ChannelAliases channels, TimeZoneInfo brandZone)
{
    private static readonly string[] DateFormats = ["yyyy-M-d", "yyyy/M/d", "yyyy.M.d", "yyyyMMdd"];

    private static readonly string[] LocalTimeFormats =
    [
        "yyyy-M-d H:m:s", "yyyy/M/d H:m:s", "yyyy-M-d H:m", "yyyy/M/d H:m", "yyyy-M-d'T'H:m:s", "yyyy-M-d H:m:s.FFFFFFF",
        "yyyy/M/d H:m:s.FFFFFFF", "yyyy-M-d'T'H:m:s.FFFFFFF",
    ];

    /// <summary>Asia/Shanghai, the brand-local time of dates written without an offset.</summary>
    public static TimeZoneInfo ChinaStandardTime { get; } = FindChinaZone();

    public ImportRow Convert(long rowNumber, IReadOnlyList<string> values)
    {
        var row = new ImportRow { RowNumber = rowNumber };
        row.SourceRowKey = Text(values, 0);
        if (!channels.TryParse(Text(values, 1), out var channel))
            row.UnparsedFields.Add(ImportFields.Channel);
        row.Channel = channel;
        row.ExternalId = Text(values, 2);
        row.UnionId = Text(values, 3);
        row.Phone = Text(values, 4);
        row.Name = Text(values, 5);
        if (TryGender(Text(values, 6), out var gender))
            row.Gender = gender;
        else
            row.UnparsedFields.Add(ImportFields.Gender);

        var birthday = Text(values, 7);
        if (birthday.Length > 0)
        {
            if (TryBirthday(birthday, out var normalised))
                row.Birthday = normalised;
            else
                row.UnparsedFields.Add(ImportFields.Birthday);
        }
        row.RegisteredAt = Instant(row, ImportFields.RegisteredAt, Text(values, 8), endOfDay: false);
        row.StoreId = Text(values, 9);
        row.GuideId = Text(values, 10);
        if (TryWholeNumber(Text(values, 11), out var points))
            row.PointsBalance = points;
        else
            row.UnparsedFields.Add(ImportFields.PointsBalance);
        row.PointsExpireAt = Instant(row, ImportFields.PointsExpireAt, Text(values, 12), endOfDay: true);
        row.TierHint = Text(values, 13);
        if (TryWholeNumber(Text(values, 14), out var growth))
            row.GrowthValue = growth;
        else
            row.UnparsedFields.Add(ImportFields.GrowthValue);
        row.PaidTierExpiresAt = Instant(row, ImportFields.PaidTierExpiresAt, Text(values, 15), endOfDay: true);
        return row;
    }

    private string Text(IReadOnlyList<string> values, int field)
    {
        var column = columns[field];
        return column >= 0 && column < values.Count ? values[column].Trim() : "";
    }

    private Timestamp? Instant(ImportRow row, string field, string text, bool endOfDay)
    {
        if (text.Length == 0)
            return null;
        if (TryInstant(text, brandZone, endOfDay, out var instant))
            return Timestamp.FromDateTimeOffset(instant);
        row.UnparsedFields.Add(field);
        return null;
    }

    /// <summary>A whole number; empty is 0. <c>1200.00</c> (as spreadsheets write it) is 1200; <c>12.5</c> and <c>abc</c> are not numbers.</summary>
    public static bool TryWholeNumber(string text, out long value)
    {
        value = 0;
        if (text.Length == 0)
            return true;
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (dot >= 0)
        {
            if (dot == 0 || text.AsSpan(dot + 1).ContainsAnyExcept('0'))
                return false;
            text = text[..dot];
        }
        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    /// <summary><c>YYYY-MM-DD</c>, <c>YYYY/MM/DD</c>, <c>YYYY.MM.DD</c>, <c>YYYYMMDD</c> (a midnight time is ignored), or <c>--MM-DD</c>.</summary>
    public static bool TryBirthday(string text, out string birthday)
    {
        birthday = "";
        if (text.StartsWith("--", StringComparison.Ordinal))
        {
            if (DateTime.TryParseExact("2000" + text[1..], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
            {
                birthday = text;
                return true;
            }
            return false;
        }
        var datePart = text.Split(' ', 2, StringSplitOptions.TrimEntries);
        if (datePart.Length == 2 && datePart[1] is not ("00:00:00" or "00:00" or "0:00:00" or "0:00"))
            return false;
        if (!DateOnly.TryParseExact(datePart[0], DateFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            return false;
        birthday = date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        return true;
    }

    /// <summary>
    /// A date (<c>YYYY-MM-DD</c>, <c>YYYY/MM/DD</c>…), a local time (<c>YYYY-MM-DD HH:mm:ss</c>) in <paramref name="zone"/>,
    /// or an ISO-8601 time with its offset. A date alone is the start of that day, or with <paramref name="endOfDay"/>
    /// its end (an expiry date means "valid through that day").
    /// </summary>
    public static bool TryInstant(string text, TimeZoneInfo zone, bool endOfDay, out DateTimeOffset instant)
    {
        instant = default;
        if (HasOffset(text))
            return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out instant);
        DateTime local;
        if (DateOnly.TryParseExact(text, DateFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            // The end of the last representable day (9999-12-31, the usual "never expires") is its last second.
            local = !endOfDay ? date.ToDateTime(TimeOnly.MinValue)
                : date == DateOnly.MaxValue ? date.ToDateTime(new TimeOnly(23, 59, 59))
                : date.AddDays(1).ToDateTime(TimeOnly.MinValue);
        }
        else if (!DateTime.TryParseExact(text, LocalTimeFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out local))
            return false;
        // A local time whose UTC instant falls outside the calendar (0001-01-01 east of Greenwich) is not a value.
        var offset = zone.GetUtcOffset(local);
        var utcTicks = local.Ticks - offset.Ticks;
        if (utcTicks < DateTime.MinValue.Ticks || utcTicks > DateTime.MaxValue.Ticks)
            return false;
        instant = new DateTimeOffset(local, offset);
        return true;
    }

    private static bool HasOffset(string text)
    {
        var t = text.IndexOfAny(['T', 't', ' ']);
        if (t < 0)
            return false;
        var time = text.AsSpan(t + 1);
        return time.EndsWith("Z", StringComparison.OrdinalIgnoreCase) || time.IndexOfAny('+', '-') >= 0;
    }

    /// <summary>Empty or unknown (未知, 保密) is unspecified; female/f/女, male/m/男, other/其他.</summary>
    public static bool TryGender(string text, out Gender gender)
    {
        gender = text.Trim().ToLowerInvariant() switch
        {
            "" or "unknown" or "unspecified" or "未知" or "保密" => Gender.Unspecified,
            "female" or "f" or "女" or "woman" => Gender.Female,
            "male" or "m" or "男" or "man" => Gender.Male,
            "other" or "其他" => Gender.Other,
            _ => (Gender)(-1),
        };
        return gender != (Gender)(-1);
    }

    private static TimeZoneInfo FindChinaZone()
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById("Asia/Shanghai");
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            // Without the time zone database: China has kept UTC+8 without daylight saving since 1991.
            return TimeZoneInfo.CreateCustomTimeZone("Asia/Shanghai", TimeSpan.FromHours(8), "China Standard Time", "China Standard Time");
        }
    }
}
