using Identity.Service.Loyalty;

namespace Identity.UnitTests.Loyalty;

public sealed class TierEvaluatorTests
{
    private static readonly LoyaltyProgram Program = DefaultProgram.Load();
    private static readonly DateTimeOffset Enrolled = Utc("2026-03-15T02:00:00Z");
    private static readonly DateTimeOffset Due = Utc("2027-03-15T02:00:00Z");
    private static readonly TierDefinition Black = Program.FindTier("black")!;

    private static TierState Gold(DateTimeOffset assessmentAt) => new("gold", assessmentAt, null, null);

    [Fact]
    public void A_new_member_starts_at_the_entry_tier_with_an_assessment_a_period_later()
    {
        Assert.Equal(new TierState("regular", Due, null, null), TierEvaluator.NewMember(Program, Enrolled));
    }

    [Fact]
    public void Assessment_dates_follow_the_brand_local_calendar()
    {
        var monthly = Program with { Growth = Program.Growth with { AssessmentMonths = 1 } };

        // 00:30 on 31 March in Shanghai is still 30 March in UTC; a month later is 30 April in Shanghai, not 1 May.
        var state = TierEvaluator.NewMember(monthly, Utc("2026-03-30T16:30:00Z"));
        Assert.Equal(Utc("2026-04-29T16:30:00Z"), state.AssessmentAt);

        // 29 February + 12 months is 28 February.
        Assert.Equal(Utc("2025-02-28T04:00:00Z"), TierEvaluator.NewMember(Program, Utc("2024-02-29T04:00:00Z")).AssessmentAt);
    }

    [Theory]
    [InlineData(999, "regular", false)]
    [InlineData(1000, "silver", true)]
    [InlineData(4999, "silver", true)]
    [InlineData(6000, "gold", true)] // two tiers at once
    public void Growth_crossing_a_threshold_upgrades_at_once(long growth, string tier, bool upgraded)
    {
        var now = Utc("2026-06-01T10:00:00Z");
        var (state, up) = TierEvaluator.AfterGrowthChange(Program, TierEvaluator.NewMember(Program, Enrolled), growth, now);

        Assert.Equal(tier, state.GrowthTierCode);
        Assert.Equal(upgraded, up);
        Assert.Equal(upgraded ? Utc("2027-06-01T10:00:00Z") : Due, state.AssessmentAt);
    }

    [Fact]
    public void Growth_falling_never_downgrades_outside_assessment()
    {
        var gold = Gold(Due);
        var (state, upgraded) = TierEvaluator.AfterGrowthChange(Program, gold, 0, Due.AddDays(10));
        Assert.Same(gold, state);
        Assert.False(upgraded);
    }

    [Fact]
    public void No_downgrade_before_the_assessment_date()
    {
        var (state, downgraded, paidEnded) = TierEvaluator.Assess(Program, Gold(Due), 0, Due.AddTicks(-1));
        Assert.Equal(Gold(Due), state);
        Assert.False(downgraded);
        Assert.False(paidEnded);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(999)]
    [InlineData(1500)]
    public void At_the_assessment_date_a_member_drops_one_tier_even_with_no_growth(long growth)
    {
        var (state, downgraded, _) = TierEvaluator.Assess(Program, Gold(Due), growth, Due);
        Assert.Equal(new TierState("silver", Due.AddYears(1), null, null), state);
        Assert.True(downgraded);
    }

    [Fact]
    public void Growth_that_still_earns_the_tier_keeps_it_for_another_period()
    {
        var (state, downgraded, _) = TierEvaluator.Assess(Program, Gold(Due), 5000, Due.AddDays(3));
        Assert.Equal(Gold(Due.AddYears(1)), state);
        Assert.False(downgraded);
    }

    [Fact]
    public void Each_missed_assessment_may_drop_a_tier()
    {
        var (state, downgraded, _) = TierEvaluator.Assess(Program, Gold(Due), 0, Due.AddYears(1).AddDays(1));
        Assert.Equal(new TierState("regular", Due.AddYears(2), null, null), state);
        Assert.True(downgraded);

        // One period late but the next date not reached: one drop only.
        Assert.Equal("silver", TierEvaluator.Assess(Program, Gold(Due), 0, Due.AddYears(1).AddTicks(-1)).State.GrowthTierCode);
    }

    [Fact]
    public void A_larger_drop_stops_at_the_tier_growth_earns()
    {
        var lenient = Program with { Growth = Program.Growth with { MaxDropTiers = 2 } };
        Assert.Equal("regular", TierEvaluator.Assess(lenient, Gold(Due), 0, Due).State.GrowthTierCode);
        Assert.Equal("silver", TierEvaluator.Assess(lenient, Gold(Due), 1500, Due).State.GrowthTierCode);
    }

    [Fact]
    public void Assessment_applies_an_upgrade_it_finds()
    {
        var now = Utc("2026-08-01T00:00:00Z");
        var (state, downgraded, _) = TierEvaluator.Assess(Program, new TierState("regular", Due, null, null), 6000, now);
        Assert.Equal(new TierState("gold", Utc("2027-08-01T00:00:00Z"), null, null), state);
        Assert.False(downgraded);
    }

    [Fact]
    public void A_paid_tier_holds_until_expiry_then_falls_back_to_the_growth_tier()
    {
        var paidAt = Utc("2026-05-01T06:00:00Z");
        var (expires, renewed) = TierEvaluator.PaidExpiry(Program, Black, null, paidAt);
        Assert.Equal(Utc("2027-05-01T06:00:00Z"), expires); // 365 days; 2027 is no leap year
        Assert.False(renewed);

        var nextAssessment = Due.AddYears(1);
        var state = new TierState("silver", nextAssessment, "black", expires);
        Assert.Equal("black", TierEvaluator.EffectiveTier(Program, state, expires.AddTicks(-1)).Code);
        Assert.Equal("silver", TierEvaluator.EffectiveTier(Program, state, expires).Code);

        var before = TierEvaluator.Assess(Program, state, 0, expires.AddTicks(-1));
        Assert.False(before.PaidEnded);
        Assert.Equal("black", before.State.PaidTierCode);

        var after = TierEvaluator.Assess(Program, state, 0, expires);
        Assert.True(after.PaidEnded);
        Assert.Equal(new TierState("silver", nextAssessment, null, null), after.State);
    }

    [Fact]
    public void A_paid_tier_holds_whatever_the_growth()
    {
        var state = new TierState("regular", Due, "black", Utc("2027-05-01T06:00:00Z"));
        var (assessed, downgraded, paidEnded) = TierEvaluator.Assess(Program, state, 0, Due.AddTicks(-1));
        Assert.Equal("black", TierEvaluator.EffectiveTier(Program, assessed, Due.AddTicks(-1)).Code);
        Assert.False(downgraded || paidEnded);
    }

    [Fact]
    public void Renewal_while_valid_extends_from_the_current_expiry()
    {
        var current = Utc("2027-05-01T06:00:00Z");
        var (expires, renewed) = TierEvaluator.PaidExpiry(Program, Black, current, Utc("2027-04-20T09:00:00Z"));
        Assert.Equal(current.AddDays(365), expires);
        Assert.True(renewed);
    }

    [Fact]
    public void Buying_after_expiry_starts_a_new_term_from_the_payment()
    {
        var paidAt = Utc("2027-05-01T06:00:00Z");
        var (expires, renewed) = TierEvaluator.PaidExpiry(Program, Black, paidAt, paidAt);
        Assert.Equal(paidAt.AddDays(365), expires);
        Assert.False(renewed);
    }

    [Fact]
    public void Only_a_paid_tier_can_be_bought()
    {
        Assert.Throws<ArgumentException>(() => TierEvaluator.PaidExpiry(Program, Program.FindTier("gold")!, null, Enrolled));
    }

    [Fact]
    public void A_tier_code_the_program_no_longer_has_counts_as_what_growth_earns()
    {
        var removed = new TierState("platinum", Due, null, null);

        var (changed, upgraded) = TierEvaluator.AfterGrowthChange(Program, removed, 1500, Enrolled);
        Assert.Equal(removed with { GrowthTierCode = "silver" }, changed);
        Assert.False(upgraded);

        var (assessed, downgraded, _) = TierEvaluator.Assess(Program, removed, 6000, Due);
        Assert.Equal(new TierState("gold", Due.AddYears(1), null, null), assessed);
        Assert.False(downgraded);

        Assert.Equal("regular", TierEvaluator.EffectiveTier(Program, removed, Enrolled).Code);
    }

    private static DateTimeOffset Utc(string iso) => DateTimeOffset.Parse(iso, System.Globalization.CultureInfo.InvariantCulture);
}
