using Google.Protobuf.WellKnownTypes;
using Identity.Service.Loyalty;
using Identity.V1;

namespace Identity.UnitTests.Loyalty;

/// <summary>The default program's benefits across tier, channel, store, birthday, member day and paid-tier validity.</summary>
public sealed class BenefitScenarioTests
{
    // Instants in UTC; Asia/Shanghai is UTC+8. 2026-05-13 is a Wednesday.
    private static readonly DateTimeOffset Wednesday = Utc("2026-05-13T04:00:00Z");           // Wed 12:00 local
    private static readonly DateTimeOffset WednesdayEarly = Utc("2026-05-12T23:30:00Z");      // Tue 23:30 UTC = Wed 07:30 local
    private static readonly DateTimeOffset Thursday = Utc("2026-05-14T04:00:00Z");            // Thu 12:00 local
    private static readonly DateTimeOffset ThursdayEarly = Utc("2026-05-13T16:30:00Z");       // Wed 16:30 UTC = Thu 00:30 local
    private static readonly DateTimeOffset JuneFirstEarly = Utc("2026-05-31T16:30:00Z");      // Sun 31 May UTC = Mon 1 June 00:30 local

    private static readonly DateTimeOffset PaidValidUntil = Utc("2026-12-31T16:00:00Z");
    private static readonly DateTimeOffset PaidEndedAt = Utc("2026-05-01T00:00:00Z");

    public enum Paid { None, Valid, Expired, EndsNow }

    public sealed record Scenario(
        string Name,
        string GrowthTier,
        long Growth,
        Paid Paid,
        Channel Channel,
        string? Store,
        int BirthdayMonth,
        DateTimeOffset At,
        string[] Codes,
        int DiscountBp,
        int MultiplierMilli)
    {
        public override string ToString() => Name;
    }

    public static TheoryData<Scenario> Scenarios => new()
    {
        new("regular, POS, ordinary Thursday", "regular", 200, Paid.None, Channel.Pos, "S001", 0, Thursday, [], 0, 1000),
        new("regular, birthday month", "regular", 200, Paid.None, Channel.Pos, "S001", 5, Thursday,
            ["birthday-gift", "birthday-points"], 0, 2000),
        new("regular on member day: member day is silver and above", "regular", 200, Paid.None, Channel.Pos, "S001", 0, Wednesday, [], 0, 1000),
        new("regular with unknown birthday", "regular", 200, Paid.None, Channel.WechatMiniProgram, null, 0, Thursday, [], 0, 1000),
        new("silver, POS, Thursday", "silver", 1500, Paid.None, Channel.Pos, "S001", 0, Thursday, ["silver-discount"], 500, 1000),
        new("silver, POS, member day", "silver", 1500, Paid.None, Channel.Pos, "S001", 0, Wednesday,
            ["silver-discount", "member-day-points"], 500, 2000),
        new("silver, Tue 23:30 UTC is Wed 07:30 in Shanghai", "silver", 1500, Paid.None, Channel.WechatMiniProgram, null, 0, WednesdayEarly,
            ["silver-discount", "member-day-points"], 500, 2000),
        new("silver, Wed 16:30 UTC is already Thursday in Shanghai", "silver", 1500, Paid.None, Channel.WechatMiniProgram, null, 0,
            ThursdayEarly, ["silver-discount"], 500, 1000),
        new("silver, app, birthday on member day", "silver", 1500, Paid.None, Channel.App, null, 5, Wednesday,
            ["silver-discount", "birthday-gift", "birthday-points", "member-day-points"], 500, 3000),
        new("gold, POS with store: consultation", "gold", 6000, Paid.None, Channel.Pos, "S001", 0, Thursday,
            ["gold-discount", "gold-points", "beauty-consultation"], 1000, 1500),
        new("gold, POS without store: no store condition in the default", "gold", 6000, Paid.None, Channel.Pos, null, 0, Thursday,
            ["gold-discount", "gold-points", "beauty-consultation"], 1000, 1500),
        new("gold, Tmall: free shipping, no consultation", "gold", 6000, Paid.None, Channel.Tmall, null, 0, Thursday,
            ["gold-discount", "gold-points", "online-free-shipping"], 1000, 1500),
        new("gold, official account: neither online shop nor store", "gold", 6000, Paid.None, Channel.WechatOfficialAccount, null, 0, Thursday,
            ["gold-discount", "gold-points"], 1000, 1500),
        new("gold, no channel given", "gold", 6000, Paid.None, Channel.Unspecified, null, 0, Thursday,
            ["gold-discount", "gold-points"], 1000, 1500),
        new("gold, mini-program, birthday member day: 1 + 0.5 + 1 + 1", "gold", 6000, Paid.None, Channel.WechatMiniProgram, null, 5, Wednesday,
            ["gold-discount", "gold-points", "birthday-gift", "birthday-points", "member-day-points", "online-free-shipping"], 1000, 3500),
        new("gold, May birthday ends at Shanghai midnight (UTC still May)", "gold", 6000, Paid.None, Channel.Pos, "S001", 5, JuneFirstEarly,
            ["gold-discount", "gold-points", "beauty-consultation"], 1000, 1500),
        new("gold, June birthday starts at Shanghai midnight", "gold", 6000, Paid.None, Channel.Pos, "S001", 6, JuneFirstEarly,
            ["gold-discount", "gold-points", "birthday-gift", "birthday-points", "beauty-consultation"], 1000, 2500),
        new("black valid over a regular growth tier, POS", "regular", 100, Paid.Valid, Channel.Pos, "S001", 0, Thursday,
            ["black-discount", "black-points", "beauty-consultation", "black-coupon"], 1500, 2000),
        new("black valid, birthday member day at POS: 1 + 1 + 1 + 1", "gold", 6000, Paid.Valid, Channel.Pos, "S001", 5, Wednesday,
            ["black-discount", "black-points", "birthday-gift", "birthday-points", "member-day-points", "beauty-consultation", "black-coupon"],
            1500, 4000),
        new("black valid, JD, Wed 07:30 local", "silver", 1500, Paid.Valid, Channel.Jd, null, 0, WednesdayEarly,
            ["black-discount", "black-points", "member-day-points", "online-free-shipping", "black-coupon"], 1500, 3000),
        new("black valid, Douyin, birthday member day", "regular", 0, Paid.Valid, Channel.Douyin, null, 5, Wednesday,
            ["black-discount", "black-points", "birthday-gift", "birthday-points", "member-day-points", "online-free-shipping", "black-coupon"],
            1500, 4000),
        new("black expired, falls back to gold", "gold", 6000, Paid.Expired, Channel.Pos, "S001", 0, Thursday,
            ["gold-discount", "gold-points", "beauty-consultation"], 1000, 1500),
        new("black expired, falls back to regular: nothing on Tmall", "regular", 100, Paid.Expired, Channel.Tmall, null, 0, Wednesday,
            [], 0, 1000),
        new("black ending exactly at the quoted instant is over", "silver", 1500, Paid.EndsNow, Channel.Pos, "S001", 0, Thursday,
            ["silver-discount"], 500, 1000),
        new("a stored tier unknown to the program: the tier the growth earns", "platinum", 6000, Paid.None, Channel.Pos, "S001", 0, Thursday,
            ["gold-discount", "gold-points", "beauty-consultation"], 1000, 1500),
        new("the stored growth tier wins over growth not yet assessed", "regular", 1200, Paid.None, Channel.Pos, "S001", 0, Thursday,
            [], 0, 1000),
    };

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Default_program_benefits(Scenario s)
    {
        var quote = BenefitCalculator.Quote(DefaultProgram.Load(), Member(s), new QuoteContext(s.Channel, s.Store, s.At));

        Assert.Equal(s.Codes.Order(StringComparer.Ordinal), quote.Benefits.Select(b => b.Code).Order(StringComparer.Ordinal));
        Assert.Equal(s.DiscountBp, quote.EffectiveDiscountBp);
        Assert.Equal(s.MultiplierMilli, quote.EffectivePointsMultiplierMilli);
        Assert.All(quote.Benefits, b => Assert.True(b.Effective, $"{b.Code} should count: the default has one discount per tier"));
    }

    [Fact]
    public void Scenario_table_is_large_enough() => Assert.True(Scenarios.Count >= 20);

    [Fact]
    public void Quote_describes_tier_progress_and_the_instant()
    {
        var member = new MemberSnapshot { GrowthTierCode = "silver", Growth = 1234, BirthdayMonth = 3 };
        var quote = BenefitCalculator.Quote(DefaultProgram.Load(), member, new QuoteContext(Channel.Pos, "S001", ThursdayEarly));

        Assert.Equal(1, quote.ProgramVersion);
        Assert.Equal(new TierInfo { Code = "silver", Name = "银卡", Paid = false, Rank = 1 }, quote.Tier);
        Assert.Equal(quote.Tier, quote.GrowthTier);
        Assert.Equal(1234, quote.Growth);
        Assert.Equal(new TierInfo { Code = "gold", Name = "金卡", Paid = false, Rank = 2 }, quote.NextTier);
        Assert.Equal(5000 - 1234, quote.GrowthToNextTier);
        Assert.Null(quote.PaidTierExpiresAt);
        Assert.Equal("2026-05-14", quote.LocalDate);
        Assert.Equal(Timestamp.FromDateTimeOffset(ThursdayEarly), quote.QuotedAt);
    }

    [Fact]
    public void Paid_tier_in_force_keeps_the_growth_ladder_progress()
    {
        var member = new MemberSnapshot
        {
            GrowthTierCode = "gold", Growth = 7000, PaidTierCode = "black", PaidTierExpiresAt = Timestamp.FromDateTimeOffset(PaidValidUntil),
        };
        var quote = BenefitCalculator.Quote(DefaultProgram.Load(), member, new QuoteContext(Channel.Pos, null, Thursday));

        Assert.Equal(new TierInfo { Code = "black", Name = "黑金", Paid = true, Rank = 3 }, quote.Tier);
        Assert.Equal("gold", quote.GrowthTier.Code);
        Assert.Null(quote.NextTier);
        Assert.Equal(0, quote.GrowthToNextTier);
        Assert.Equal(Timestamp.FromDateTimeOffset(PaidValidUntil), quote.PaidTierExpiresAt);
    }

    [Fact]
    public void Expired_paid_tier_is_not_reported()
    {
        var member = new MemberSnapshot
        {
            GrowthTierCode = "regular", PaidTierCode = "black", PaidTierExpiresAt = Timestamp.FromDateTimeOffset(PaidEndedAt),
        };
        var quote = BenefitCalculator.Quote(DefaultProgram.Load(), member, new QuoteContext(Channel.Pos, null, Thursday));

        Assert.Equal("regular", quote.Tier.Code);
        Assert.Null(quote.PaidTierExpiresAt);
        Assert.Equal("silver", quote.NextTier.Code);
        Assert.Equal(1000, quote.GrowthToNextTier);
    }

    [Fact]
    public void Reasons_say_why_in_one_line()
    {
        var gold = new MemberSnapshot { GrowthTierCode = "gold", Growth = 6000, BirthdayMonth = 5 };
        var reasons = BenefitCalculator.Quote(DefaultProgram.Load(), gold, new QuoteContext(Channel.Pos, "S001", Wednesday))
            .Benefits.ToDictionary(b => b.Code, b => b.Reason);

        Assert.Equal("金卡 tier discount: 10% off", reasons["gold-discount"]);
        Assert.Equal("金卡 tier points: 1.5x points", reasons["gold-points"]);
        Assert.Equal("Birthday month (May): gift", reasons["birthday-gift"]);
        Assert.Equal("Birthday month (May): 2x points", reasons["birthday-points"]);
        Assert.Equal("金卡 member day: Wednesday, 2x points", reasons["member-day-points"]);
        Assert.Equal("金卡 tier service: 1对1美妆咨询 (pos)", reasons["beauty-consultation"]);

        var silver = new MemberSnapshot { GrowthTierCode = "silver", Growth = 1500 };
        var online = BenefitCalculator.Quote(DefaultProgram.Load(), silver, new QuoteContext(Channel.Tmall, null, Thursday));
        Assert.Equal("银卡 tier discount: 5% off", Assert.Single(online.Benefits).Reason);
    }

    [Fact]
    public void The_example_in_docs_program_md()
    {
        var member = new MemberSnapshot { GrowthTierCode = "gold", Growth = 6200, BirthdayMonth = 5 };
        var quote = BenefitCalculator.Quote(DefaultProgram.Load(), member, new QuoteContext(Channel.WechatMiniProgram, null, Wednesday));

        Assert.Equal(
            [
                ("gold-discount", "金卡 tier discount: 10% off"),
                ("gold-points", "金卡 tier points: 1.5x points"),
                ("birthday-gift", "Birthday month (May): gift"),
                ("birthday-points", "Birthday month (May): 2x points"),
                ("member-day-points", "金卡 member day: Wednesday, 2x points"),
                ("online-free-shipping", "金卡 tier benefit: free shipping (wechatMiniProgram)"),
            ],
            quote.Benefits.Select(b => (b.Code, b.Reason)));
        Assert.Equal((1000, 3500), (quote.EffectiveDiscountBp, quote.EffectivePointsMultiplierMilli));
        Assert.Null(quote.NextTier);
        Assert.Equal(1046, PointsMath.OrderPoints(29900, DefaultProgram.Load().Points.PerYuanMilli, quote.EffectivePointsMultiplierMilli));
        Assert.Equal(299, PointsMath.Growth(29900, DefaultProgram.Load().Growth.PerYuanMilli));

        var atPos = BenefitCalculator.Quote(DefaultProgram.Load(), member, new QuoteContext(Channel.Pos, "S001", Thursday));
        Assert.Equal(["gold-discount", "gold-points", "birthday-gift", "birthday-points", "beauty-consultation"], atPos.Benefits.Select(b => b.Code));
        Assert.Equal(2500, atPos.EffectivePointsMultiplierMilli);
    }

    [Fact]
    public void Applied_benefits_carry_their_values()
    {
        var black = new MemberSnapshot
        {
            GrowthTierCode = "regular", PaidTierCode = "black", PaidTierExpiresAt = Timestamp.FromDateTimeOffset(PaidValidUntil), BirthdayMonth = 5,
        };
        var benefits = BenefitCalculator.Quote(DefaultProgram.Load(), black, new QuoteContext(Channel.Tmall, null, Thursday))
            .Benefits.ToDictionary(b => b.Code);

        Assert.Equal((BenefitKind.Discount, 1500, 0, ""), Parts(benefits["black-discount"]));
        Assert.Equal((BenefitKind.PointsMultiplier, 0, 2000, ""), Parts(benefits["black-points"]));
        Assert.Equal((BenefitKind.BirthdayGift, 0, 0, "gift:birthday-kit"), Parts(benefits["birthday-gift"]));
        Assert.Equal((BenefitKind.FreeShipping, 0, 0, ""), Parts(benefits["online-free-shipping"]));
        Assert.Equal((BenefitKind.CouponGrant, 0, 0, "coupon:black-100-off-500"), Parts(benefits["black-coupon"]));
        Assert.Equal("黑金专享券", benefits["black-coupon"].Name);

        static (BenefitKind, int, int, string) Parts(AppliedBenefit b) => (b.Kind, b.DiscountBp, b.PointsMultiplierMilli, b.Value);
    }

    [Fact]
    public void Same_input_gives_the_same_quote()
    {
        var member = new MemberSnapshot { GrowthTierCode = "gold", Growth = 6000, BirthdayMonth = 5 };
        var context = new QuoteContext(Channel.WechatMiniProgram, null, Wednesday);
        Assert.Equal(BenefitCalculator.Quote(DefaultProgram.Load(), member, context), BenefitCalculator.Quote(DefaultProgram.Load(), member, context));
    }

    private static MemberSnapshot Member(Scenario s)
    {
        var member = new MemberSnapshot { GrowthTierCode = s.GrowthTier, Growth = s.Growth, BirthdayMonth = s.BirthdayMonth };
        DateTimeOffset? expiry = s.Paid switch
        {
            Paid.Valid => PaidValidUntil,
            Paid.Expired => PaidEndedAt,
            Paid.EndsNow => s.At,
            _ => null,
        };
        if (expiry is { } e)
        {
            member.PaidTierCode = "black";
            member.PaidTierExpiresAt = Timestamp.FromDateTimeOffset(e);
        }

        return member;
    }

    private static DateTimeOffset Utc(string iso) => DateTimeOffset.Parse(iso, System.Globalization.CultureInfo.InvariantCulture);
}
