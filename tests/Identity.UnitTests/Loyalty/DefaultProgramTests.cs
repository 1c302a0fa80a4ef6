using Identity.Service.Loyalty;
using Identity.V1;

namespace Identity.UnitTests.Loyalty;

/// <summary>The shipped program parses and says what docs/program.md says it does.</summary>
public sealed class DefaultProgramTests
{
    private static readonly LoyaltyProgram Program = DefaultProgram.Load();

    [Fact]
    public void It_is_valid_and_version_1()
    {
        var result = ProgramParser.Parse(DefaultProgram.Json);
        Assert.True(result.IsValid, string.Join("; ", result.Problems));
        Assert.Equal(1, Program.Version);
        Assert.Equal("Asia/Shanghai", Program.TimeZone.Id);
        Assert.Same(Program, DefaultProgram.Load());
    }

    [Fact]
    public void Tiers()
    {
        Assert.Equal(
            [
                new TierDefinition("regular", "普通", 0, 0, null),
                new TierDefinition("silver", "银卡", 1, 1000, null),
                new TierDefinition("gold", "金卡", 2, 5000, null),
                new TierDefinition("black", "黑金", 3, 0, new PaidTerms(29900, 365)),
            ],
            Program.Tiers);
    }

    [Fact]
    public void Rates_and_stacking()
    {
        Assert.Equal(new GrowthRules(1000, 12, 12, 1), Program.Growth);
        Assert.Equal(new PointsRules(1000, 500, new PointsExpiry(PointsExpiryKind.EndOfYear, 12), 5), Program.Points);
        Assert.Equal(new StackingRules(DiscountStacking.Best, MultiplierStacking.SumBonus, 3000, 5000), Program.Stacking);
    }

    [Fact]
    public void Benefits()
    {
        var benefits = Program.Benefits.ToDictionary(b => b.Code);
        Assert.Equal(
            ["silver-discount", "gold-discount", "black-discount", "gold-points", "black-points", "birthday-gift", "birthday-points",
             "member-day-points", "online-free-shipping", "beauty-consultation", "black-coupon"],
            Program.Benefits.Select(b => b.Code));

        Assert.Equal((BenefitKind.Discount, 500), (benefits["silver-discount"].Kind, benefits["silver-discount"].DiscountBp));
        Assert.Equal(1000, benefits["gold-discount"].DiscountBp);
        Assert.Equal(1500, benefits["black-discount"].DiscountBp);
        Assert.Equal(1500, benefits["gold-points"].MultiplierMilli);
        Assert.Equal(2000, benefits["black-points"].MultiplierMilli);
        Assert.Empty(benefits["birthday-gift"].Tiers);
        Assert.True(benefits["birthday-gift"].Conditions.BirthdayMonth);
        Assert.Equal("gift:birthday-kit", benefits["birthday-gift"].Value);
        Assert.Equal([DayOfWeek.Wednesday], benefits["member-day-points"].Conditions.Weekdays!);
        Assert.Equal(["black", "gold", "silver"], benefits["member-day-points"].Tiers.Order(StringComparer.Ordinal));
        Assert.Equal(
            [Channel.WechatMiniProgram, Channel.App, Channel.Tmall, Channel.Jd, Channel.Douyin],
            benefits["online-free-shipping"].Conditions.Channels!.Order());
        Assert.Equal([Channel.Pos], benefits["beauty-consultation"].Conditions.Channels!);
        Assert.Equal(BenefitKind.CouponGrant, benefits["black-coupon"].Kind);
        Assert.True(benefits["black-coupon"].Conditions.PaidOnly);
    }
}
