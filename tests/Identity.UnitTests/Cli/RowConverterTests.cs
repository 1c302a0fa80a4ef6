extern alias cli;
using cli::Identity.Cli.Import;
using cli::Identity.V1;

namespace Identity.UnitTests.Cli;

public sealed class RowConverterTests
{
    static readonly string[] Headers = [.. ImportFields.All];

    static ImportRow Convert(params (string Field, string Value)[] values)
    {
        var record = new string[Headers.Length];
        Array.Fill(record, "");
        foreach (var (field, value) in values)
            record[Array.IndexOf(Headers, field)] = value;
        var converter = new RowConverter(ColumnMap.Create([]).Bind(Headers), new ChannelAliases(["小程序=miniprogram"]), RowConverter.ChinaStandardTime);
        return converter.Convert(7, record);
    }

    [Fact]
    public void A_clean_record_fills_every_field()
    {
        var row = Convert(("source_row_key", " M001 "), ("channel", "小程序"), ("external_id", "o-1"), ("union_id", "u-1"),
            ("phone", "+86 (0)138 1234 5678"), ("name", "李雷"), ("gender", "男"), ("birthday", "1990/5/4"),
            ("registered_at", "2019-03-01 10:30:00"), ("store_id", "S001"), ("guide_id", "G007"), ("points_balance", "1200.00"),
            ("points_expire_at", "2027-12-31"), ("tier_hint", "gold"), ("growth_value", "3400"), ("paid_tier_expires_at", "2027-06-30T00:00:00Z"));

        Assert.Equal(7, row.RowNumber);
        Assert.Equal("M001", row.SourceRowKey);
        Assert.Equal(Channel.WechatMiniProgram, row.Channel);
        Assert.Equal("o-1", row.ExternalId);
        Assert.Equal("u-1", row.UnionId);
        Assert.Equal("+86 (0)138 1234 5678", row.Phone); // the server normalises phones
        Assert.Equal(Gender.Male, row.Gender);
        Assert.Equal("1990-05-04", row.Birthday);
        Assert.Equal(DateTimeOffset.Parse("2019-03-01T02:30:00Z"), row.RegisteredAt.ToDateTimeOffset());
        Assert.Equal(1200, row.PointsBalance);
        Assert.Equal(DateTimeOffset.Parse("2027-12-31T16:00:00Z"), row.PointsExpireAt.ToDateTimeOffset()); // through 31 Dec, Beijing time
        Assert.Equal(3400, row.GrowthValue);
        Assert.Equal(DateTimeOffset.Parse("2027-06-30T00:00:00Z"), row.PaidTierExpiresAt.ToDateTimeOffset());
        Assert.Empty(row.UnparsedFields);
    }

    [Theory]
    [InlineData("points_balance", "abc")]
    [InlineData("points_balance", "12.5")]
    [InlineData("points_balance", "1,200")]
    [InlineData("points_expire_at", "someday")]
    [InlineData("birthday", "1990-02-30")]
    [InlineData("birthday", "04/05/1990")]
    [InlineData("registered_at", "2019-13-01")]
    [InlineData("registered_at", "yesterday")]
    [InlineData("growth_value", "lots")]
    [InlineData("gender", "x")]
    [InlineData("channel", "weibo")]
    [InlineData("paid_tier_expires_at", "2027-06-31")]
    public void A_value_that_is_not_its_field_s_type_is_named_in_unparsed_fields_and_the_row_is_still_sent(string field, string value)
    {
        var row = Convert(("source_row_key", "M1"), ("phone", "13812345678"), (field, value));

        Assert.Equal([field], row.UnparsedFields);
        Assert.Equal("13812345678", row.Phone);
    }

    [Fact]
    public void A_negative_balance_is_sent_as_it_is_for_the_server_to_refuse()
    {
        Assert.Equal(-5, Convert(("points_balance", "-5")).PointsBalance);
    }

    [Theory]
    [InlineData("2019-03-01", "2019-02-28T16:00:00Z")]
    [InlineData("2019/03/01", "2019-02-28T16:00:00Z")]
    [InlineData("2019-03-01 08:00:00", "2019-03-01T00:00:00Z")]
    [InlineData("2019/3/1 8:00", "2019-03-01T00:00:00Z")]
    [InlineData("2019-03-01T08:00:00+08:00", "2019-03-01T00:00:00Z")]
    [InlineData("2019-03-01 00:00:00Z", "2019-03-01T00:00:00Z")]
    [InlineData("2019-03-01T09:00:00+09:00", "2019-03-01T00:00:00Z")]
    public void Times_without_an_offset_are_beijing_time(string text, string utc)
    {
        Assert.True(RowConverter.TryInstant(text, RowConverter.ChinaStandardTime, endOfDay: false, out var instant));
        Assert.Equal(DateTimeOffset.Parse(utc), instant);
    }

    [Theory]
    [InlineData("9999-12-31", true, "9999-12-31T15:59:59Z")]
    [InlineData("9999-12-31 23:59:59", false, "9999-12-31T15:59:59Z")]
    [InlineData("2030-12-31", true, "2030-12-31T16:00:00Z")]
    public void The_last_days_of_the_calendar_convert(string text, bool endOfDay, string utc)
    {
        // 9999-12-31 is how many exports write "never expires": it must convert, not end the import.
        Assert.True(RowConverter.TryInstant(text, RowConverter.ChinaStandardTime, endOfDay, out var instant));
        Assert.Equal(DateTimeOffset.Parse(utc), instant);
    }

    [Theory]
    [InlineData("0001-01-01")]
    [InlineData("0001-01-01 07:59:59")]
    public void A_time_before_the_calendar_starts_is_not_a_value(string text)
    {
        Assert.False(RowConverter.TryInstant(text, RowConverter.ChinaStandardTime, endOfDay: false, out _));
        var row = Convert(("source_row_key", "M1"), ("phone", "13812345678"), ("registered_at", text), ("points_expire_at", "9999-12-31"));
        Assert.Equal(["registered_at"], row.UnparsedFields);
        Assert.Equal(DateTimeOffset.Parse("9999-12-31T15:59:59Z"), row.PointsExpireAt.ToDateTimeOffset());
    }

    [Theory]
    [InlineData("1990-05-04", "1990-05-04")]
    [InlineData("1990/5/4", "1990-05-04")]
    [InlineData("1990.05.04", "1990-05-04")]
    [InlineData("19900504", "1990-05-04")]
    [InlineData("1990-05-04 00:00:00", "1990-05-04")]
    [InlineData("--05-04", "--05-04")]
    public void Birthdays_are_normalised(string text, string birthday)
    {
        Assert.True(RowConverter.TryBirthday(text, out var normalised));
        Assert.Equal(birthday, normalised);
    }

    [Theory]
    [InlineData("男", Gender.Male)]
    [InlineData("M", Gender.Male)]
    [InlineData("female", Gender.Female)]
    [InlineData("女", Gender.Female)]
    [InlineData("其他", Gender.Other)]
    [InlineData("", Gender.Unspecified)]
    [InlineData("保密", Gender.Unspecified)]
    public void Genders_are_read_in_english_and_chinese(string text, Gender gender)
    {
        Assert.True(RowConverter.TryGender(text, out var parsed));
        Assert.Equal(gender, parsed);
    }
}
