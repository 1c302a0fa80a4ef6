using Identity.Cli.Import;
using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Identity.V1;
using nietras.SeparatedValues;

namespace Identity.LoadTest.Legacy;

/// <summary>
/// Reads a legacy export (RFC 4180 CSV, columns named as ImportRow's fields) into ImportRows with Sep. Values it cannot
/// convert to their field's type are named in <c>unparsed_fields</c> for the server to reject with the right reason.
/// Formats: channels by their short name (<c>pos</c>, <c>wechat_mini_program</c>, …; empty = a legacy member number);
/// gender <c>男</c>/<c>女</c>/<c>male</c>/<c>female</c>/<c>other</c>; instants <c>yyyy-MM-dd HH:mm:ss</c> in China time
/// (UTC+8) or ISO 8601 with an offset; an expiry written as a date lasts to the end of that day, China time.
/// </summary>
public static class LegacyRows
{
    static readonly TimeSpan ChinaTime = TimeSpan.FromHours(8);

    public static IEnumerable<ImportRow> Read(TextReader text)
    {
        using var reader = Sep.Reader(o => o with { Unescape = true }).From(text);
        var header = reader.Header;
        var columns = LegacyColumns.All.Select(c => header.ColNames.Contains(c) ? header.IndexOf(c) : -1).ToArray();
        long number = 0;
        foreach (var record in reader)
        {
            var values = new string[columns.Length];
            for (var i = 0; i < columns.Length; i++)
                values[i] = columns[i] < 0 ? "" : record[columns[i]].ToString();
            yield return ToRow(++number, values);
        }
    }

    /// <summary>One line's values (by <see cref="LegacyColumns.All"/>) as the row the server is sent.</summary>
    public static ImportRow ToRow(long rowNumber, IReadOnlyList<string> values)
    {
        string Value(string column) => values[LegacyColumns.IndexOf(column)];
        var row = new ImportRow
        {
            RowNumber = rowNumber,
            SourceRowKey = Value(ImportFields.SourceRowKey),
            ExternalId = Value(ImportFields.ExternalId),
            UnionId = Value(ImportFields.UnionId),
            Phone = Value(ImportFields.Phone),
            Name = Value(ImportFields.Name),
            Birthday = Value(ImportFields.Birthday),
            StoreId = Value(ImportFields.StoreId),
            GuideId = Value(ImportFields.GuideId),
            TierHint = Value(ImportFields.TierHint),
        };
        if (ParseChannel(Value(ImportFields.Channel)) is { } channel)
            row.Channel = channel;
        else
            row.UnparsedFields.Add(ImportFields.Channel);
        if (ParseGender(Value(ImportFields.Gender)) is { } gender)
            row.Gender = gender;
        else
            row.UnparsedFields.Add(ImportFields.Gender);
        Number(row, ImportFields.PointsBalance, Value(ImportFields.PointsBalance), v => row.PointsBalance = v);
        Number(row, ImportFields.GrowthValue, Value(ImportFields.GrowthValue), v => row.GrowthValue = v);
        Instant(row, ImportFields.RegisteredAt, Value(ImportFields.RegisteredAt), endOfDay: false, v => row.RegisteredAt = v);
        Instant(row, ImportFields.PointsExpireAt, Value(ImportFields.PointsExpireAt), endOfDay: true, v => row.PointsExpireAt = v);
        Instant(row, ImportFields.PaidTierExpiresAt, Value(ImportFields.PaidTierExpiresAt), endOfDay: true, v => row.PaidTierExpiresAt = v);
        return row;
    }

    public static Channel? ParseChannel(string value)
    {
        var text = value.Trim();
        if (text.Length == 0)
            return Channel.Unspecified;
        if (text.StartsWith("CHANNEL_", StringComparison.OrdinalIgnoreCase))
            text = text[8..];
        // CHANNEL_WECHAT_MINI_PROGRAM is Channel.WechatMiniProgram: compare without underscores or case.
        var bare = text.Replace("_", "", StringComparison.Ordinal);
        foreach (var channel in System.Enum.GetValues<Channel>())
            if (channel != Channel.Unspecified && string.Equals(channel.ToString(), bare, StringComparison.OrdinalIgnoreCase))
                return channel;
        return null;
    }

    public static Gender? ParseGender(string value) => value.Trim().ToLowerInvariant() switch
    {
        "" => Gender.Unspecified,
        "女" or "f" or "female" => Gender.Female,
        "男" or "m" or "male" => Gender.Male,
        "其他" or "other" => Gender.Other,
        _ => null,
    };

    static void Number(ImportRow row, string column, string value, Action<long> set)
    {
        var text = value.Trim();
        if (text.Length == 0)
            return;
        if (long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number))
            set(number);
        else
            row.UnparsedFields.Add(column);
    }

    static void Instant(ImportRow row, string column, string value, bool endOfDay, Action<Timestamp> set)
    {
        var text = value.Trim();
        if (text.Length == 0)
            return;
        if (DateTime.TryParseExact(text, "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture, DateTimeStyles.None, out var local))
            set(Timestamp.FromDateTimeOffset(new DateTimeOffset(local, ChinaTime)));
        else if (DateTime.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            set(Timestamp.FromDateTimeOffset(new DateTimeOffset(endOfDay ? date.AddDays(1).AddSeconds(-1) : date, ChinaTime)));
        else if (text.Contains('T', StringComparison.Ordinal)
                 && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind, out var instant))
            set(Timestamp.FromDateTimeOffset(instant));
        else
            row.UnparsedFields.Add(column);
    }
}
