using Google.Protobuf.WellKnownTypes;
using Identity.Service.Loyalty;
using Identity.V1;

namespace Identity.UnitTests.Loyalty;

/// <summary>Stacking rules and the conditions the default program does not use (stores, date ranges), on small programs.</summary>
public sealed class StackingTests
{
    private const string Ladder = """
        "tiers": [
          { "code": "regular", "name": "普通", "growthThreshold": 0 },
          { "code": "vip", "name": "VIP", "growthThreshold": 100 },
          { "code": "club", "name": "Club", "paid": { "priceFen": 9900, "termDays": 30 } },
        ],
        """;

    private const string Benefits = """
        "benefits": [
          { "code": "d5", "kind": "discount", "name": "5%", "percentOff": 5 },
          { "code": "d12", "kind": "discount", "name": "12.5%", "percentOff": 12.5, "tiers": ["vip", "club"] },
          { "code": "d20", "kind": "discount", "name": "store 20%", "percentOff": 20, "conditions": { "stores": ["S1"] } },
          { "code": "m15", "kind": "pointsMultiplier", "name": "1.5x", "multiplier": 1.5 },
          { "code": "m2", "kind": "pointsMultiplier", "name": "2x", "multiplier": 2, "tiers": ["vip"] },
          { "code": "m3", "kind": "pointsMultiplier", "name": "May 3x", "multiplier": 3,
            "conditions": { "from": "2026-05-01", "to": "2026-05-31" } },
          { "code": "club-coupon", "kind": "couponGrant", "name": "club coupon", "value": "coupon:club", "conditions": { "paidOnly": true } },
        ],
        """;

    private static readonly DateTimeOffset May = new(2026, 5, 14, 4, 0, 0, TimeSpan.Zero);
    private static readonly MemberSnapshot Vip = new() { GrowthTierCode = "vip", Growth = 150 };

    private static LoyaltyProgram Program(string stacking) =>
        ProgramParser.Parse("{ \"name\": \"test\", " + Ladder + Benefits + stacking + " }").Program
        ?? throw new InvalidOperationException("test program is invalid");

    private static BenefitQuote Quote(string stacking, string? store = "S1", DateTimeOffset? at = null, MemberSnapshot? member = null) =>
        BenefitCalculator.Quote(Program(stacking), member ?? Vip, new QuoteContext(Channel.Pos, store, at ?? May));

    private static string[] Effective(BenefitQuote quote, BenefitKind kind) =>
        [.. quote.Benefits.Where(b => b.Kind == kind && b.Effective).Select(b => b.Code)];

    private static string[] Listed(BenefitQuote quote, BenefitKind kind) =>
        [.. quote.Benefits.Where(b => b.Kind == kind).Select(b => b.Code)];

    [Fact]
    public void Best_discount_counts_only_the_largest_and_lists_the_rest_as_not_effective()
    {
        var quote = Quote("""  "stacking": { "discount": "best", "multiplier": "best" } """);

        Assert.Equal(["d5", "d12", "d20"], Listed(quote, BenefitKind.Discount));
        Assert.Equal(["d20"], Effective(quote, BenefitKind.Discount));
        Assert.Equal(2000, quote.EffectiveDiscountBp);
    }

    [Fact]
    public void Best_discount_is_capped()
    {
        var quote = Quote("""  "stacking": { "discount": "best", "maxPercentOff": 15 } """);
        Assert.Equal(1500, quote.EffectiveDiscountBp);
        Assert.Equal(["d20"], Effective(quote, BenefitKind.Discount));
    }

    [Fact]
    public void Summed_discounts_all_count_up_to_the_cap()
    {
        var uncapped = Quote("""  "stacking": { "discount": "sum", "maxPercentOff": 40 } """);
        Assert.Equal(3750, uncapped.EffectiveDiscountBp);
        Assert.Equal(["d5", "d12", "d20"], Effective(uncapped, BenefitKind.Discount));

        var capped = Quote("""  "stacking": { "discount": "sum", "maxPercentOff": 30 } """);
        Assert.Equal(3000, capped.EffectiveDiscountBp);
    }

    [Fact]
    public void Best_multiplier_counts_only_the_largest()
    {
        var quote = Quote("""  "stacking": { "multiplier": "best" } """);
        Assert.Equal(["m15", "m2", "m3"], Listed(quote, BenefitKind.PointsMultiplier));
        Assert.Equal(["m3"], Effective(quote, BenefitKind.PointsMultiplier));
        Assert.Equal(3000, quote.EffectivePointsMultiplierMilli);
    }

    [Theory]
    [InlineData("sumBonus", 10, 4500)] // 1 + 0.5 + 1 + 2
    [InlineData("sumBonus", 4, 4000)]
    [InlineData("product", 10, 9000)] // 1.5 x 2 x 3
    [InlineData("product", 5, 5000)]
    public void Stacked_multipliers_are_capped(string rule, int max, int expectedMilli)
    {
        var quote = Quote($$"""  "stacking": { "multiplier": "{{rule}}", "maxMultiplier": {{max}} } """);
        Assert.Equal(expectedMilli, quote.EffectivePointsMultiplierMilli);
        Assert.Equal(["m15", "m2", "m3"], Effective(quote, BenefitKind.PointsMultiplier));
    }

    [Fact]
    public void Without_stacking_rules_the_best_discount_and_multiplier_count()
    {
        var program = Program("");
        Assert.Equal(new StackingRules(DiscountStacking.Best, MultiplierStacking.Best, 5000, 10_000), program.Stacking);
        var quote = BenefitCalculator.Quote(program, Vip, new QuoteContext(Channel.Pos, "S1", May));
        Assert.Equal((2000, 3000), (quote.EffectiveDiscountBp, quote.EffectivePointsMultiplierMilli));
    }

    [Fact]
    public void Equal_discounts_under_best_count_once()
    {
        var program = ProgramParser.Parse("""
            { "name": "tie", "tiers": [{ "code": "regular", "name": "R", "growthThreshold": 0 }],
              "benefits": [
                { "code": "first", "kind": "discount", "name": "a", "percentOff": 10 },
                { "code": "second", "kind": "discount", "name": "b", "percentOff": 10 } ] }
            """).Program!;
        var quote = BenefitCalculator.Quote(program, new MemberSnapshot { GrowthTierCode = "regular" }, new QuoteContext(Channel.Pos, null, May));
        Assert.Equal(["first"], Effective(quote, BenefitKind.Discount));
        Assert.Equal(1000, quote.EffectiveDiscountBp);
    }

    [Theory]
    [InlineData("S1", true)]
    [InlineData("S2", false)]
    [InlineData("s1", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void Store_condition_matches_only_a_listed_store(string? store, bool applies)
    {
        var quote = Quote("", store);
        Assert.Equal(applies, quote.Benefits.Any(b => b.Code == "d20"));
    }

    [Fact]
    public void Store_benefit_reason_says_this_store()
    {
        var quote = Quote("", "S1");
        Assert.Equal("VIP tier discount: 20% off (this store)", quote.Benefits.Single(b => b.Code == "d20").Reason);
        Assert.Equal("VIP tier points: 3x points (until 2026-05-31)", quote.Benefits.Single(b => b.Code == "m3").Reason);
    }

    [Theory]
    [InlineData("2026-04-30T15:59:59Z", false)] // 23:59:59 on 30 April in Shanghai
    [InlineData("2026-04-30T16:00:00Z", true)]  // 00:00 on 1 May
    [InlineData("2026-05-31T15:59:59Z", true)]  // last second of 31 May
    [InlineData("2026-05-31T16:00:00Z", false)] // 1 June
    public void Date_range_is_inclusive_in_brand_local_dates(string at, bool applies)
    {
        var quote = Quote("", at: DateTimeOffset.Parse(at, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(applies, quote.Benefits.Any(b => b.Code == "m3"));
    }

    [Fact]
    public void Paid_only_benefit_needs_a_valid_paid_tier()
    {
        var paid = new MemberSnapshot
        {
            GrowthTierCode = "regular", PaidTierCode = "club", PaidTierExpiresAt = Timestamp.FromDateTimeOffset(May.AddDays(1)),
        };
        Assert.Contains(Quote("", member: paid).Benefits, b => b.Code == "club-coupon");

        paid.PaidTierExpiresAt = Timestamp.FromDateTimeOffset(May.AddDays(-1));
        Assert.DoesNotContain(Quote("", member: paid).Benefits, b => b.Code == "club-coupon");
        Assert.DoesNotContain(Quote("", member: Vip).Benefits, b => b.Code == "club-coupon");
    }

    [Fact]
    public void A_paid_code_that_names_a_growth_tier_is_no_paid_tier()
    {
        var odd = new MemberSnapshot
        {
            GrowthTierCode = "regular", PaidTierCode = "vip", PaidTierExpiresAt = Timestamp.FromDateTimeOffset(May.AddDays(1)),
        };
        var quote = Quote("", member: odd);
        Assert.Equal("regular", quote.Tier.Code);
        Assert.Null(quote.PaidTierExpiresAt);
    }

    [Fact]
    public void A_changed_copy_of_a_program_is_quoted_with_its_own_rules()
    {
        var program = Program("");
        var fewer = program with { Benefits = [.. program.Benefits.Where(b => b.Code != "d20")] };
        var context = new QuoteContext(Channel.Pos, "S1", May);

        Assert.Contains(BenefitCalculator.Quote(program, Vip, context).Benefits, b => b.Code == "d20");
        Assert.DoesNotContain(BenefitCalculator.Quote(fewer, Vip, context).Benefits, b => b.Code == "d20");
    }
}
