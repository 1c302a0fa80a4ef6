namespace Identity.Service.Loyalty;

/// <summary>
/// Tier moves as pure functions of (program, stored state, growth, instant): upgrade at once when growth crosses a
/// threshold, downgrade only at the assessment date and by at most <see cref="GrowthRules.MaxDropTiers"/>, paid tiers
/// held until they expire. A stored code the program no longer has counts as the tier the growth earns.
/// </summary>
public static class TierEvaluator
{
    public static TierState NewMember(LoyaltyProgram p, DateTimeOffset enrolledAt) =>
        new(p.EntryTier.Code, NextAssessment(p, enrolledAt), null, null);

    /// <summary>After an order or refund: moves up when the growth reaches a higher growth tier; never down (only <see cref="Assess"/> does).</summary>
    public static (TierState State, bool Upgraded) AfterGrowthChange(LoyaltyProgram p, TierState s, long growth, DateTimeOffset now)
    {
        var index = ProgramIndex.For(p);
        var earned = index.GrowthStepFor(growth);
        if (index.GrowthTier(s.GrowthTierCode) is not { } held)
        {
            return (s with { GrowthTierCode = index.GrowthTiers[earned].Code }, false);
        }

        return earned > index.GrowthStep(held)
            ? (s with { GrowthTierCode = index.GrowthTiers[earned].Code, AssessmentAt = NextAssessment(p, now) }, true)
            : (s, false);
    }

    /// <summary>
    /// The periodic assessment. Ends a paid tier whose expiry has passed. An upgrade the growth earns applies at any
    /// time. At or after the assessment date, a member whose growth earns a lower tier drops toward it, at most
    /// MaxDropTiers per assessment date passed: a member not assessed for two periods (the job did not run) drops
    /// twice, as if each assessment had run on time with today's growth. The assessment date then moves on by whole
    /// periods from where it was, so it stays on the member's calendar day.
    /// </summary>
    public static (TierState State, bool Downgraded, bool PaidEnded) Assess(LoyaltyProgram p, TierState s, long growth, DateTimeOffset now)
    {
        var index = ProgramIndex.For(p);
        var paidEnded = s.PaidTierCode is not null && (s.PaidExpiresAt is not { } expires || expires <= now);
        var state = paidEnded ? s with { PaidTierCode = null, PaidExpiresAt = null } : s;

        var earned = index.GrowthStepFor(growth);
        var held = index.GrowthTier(state.GrowthTierCode) is { } tier ? index.GrowthStep(tier) : earned;
        if (earned > held)
        {
            return (state with { GrowthTierCode = index.GrowthTiers[earned].Code, AssessmentAt = NextAssessment(p, now) }, false, paidEnded);
        }

        if (now < state.AssessmentAt)
        {
            return (state with { GrowthTierCode = index.GrowthTiers[held].Code }, false, paidEnded);
        }

        var (passed, next) = PassedAssessments(p, state.AssessmentAt, now);
        var drop = (int)Math.Min((long)passed * p.Growth.MaxDropTiers, held - earned);
        var step = held - drop;
        return (state with { GrowthTierCode = index.GrowthTiers[step].Code, AssessmentAt = next }, drop > 0, paidEnded);
    }

    /// <summary>The paid tier while valid at <paramref name="at"/>, else the growth tier (the entry tier when the stored code is unknown: no growth is given here).</summary>
    public static TierDefinition EffectiveTier(LoyaltyProgram p, TierState s, DateTimeOffset at)
    {
        var index = ProgramIndex.For(p);
        if (s.PaidExpiresAt is { } expires && expires > at && index.PaidTier(s.PaidTierCode) is { } paid)
        {
            return paid;
        }

        return index.GrowthTier(s.GrowthTierCode) ?? p.EntryTier;
    }

    /// <summary>
    /// A purchase: a term from the payment, or, while the current term is still running, a term added to its end so
    /// renewing early loses no days. Terms are whole days of 24 hours.
    /// </summary>
    public static (DateTimeOffset ExpiresAt, bool Renewed) PaidExpiry(LoyaltyProgram p, TierDefinition paidTier, DateTimeOffset? currentExpiry,
        DateTimeOffset paidAt)
    {
        if (paidTier.Paid is not { } terms || ProgramIndex.For(p).PaidTier(paidTier.Code) is null)
        {
            throw new ArgumentException($"'{paidTier.Code}' is not a paid tier of this program.", nameof(paidTier));
        }

        var term = TimeSpan.FromDays(terms.TermDays);
        return currentExpiry is { } current && current > paidAt
            ? ((current + term).ToUniversalTime(), true)
            : ((paidAt + term).ToUniversalTime(), false);
    }

    private static DateTimeOffset NextAssessment(LoyaltyProgram p, DateTimeOffset from) =>
        BrandTime.AddMonths(p.TimeZone, from, p.Growth.AssessmentMonths);

    /// <summary>How many assessment dates (due, due + 1 period, ...) are at or before now, and the first one after it.</summary>
    private static (int Passed, DateTimeOffset Next) PassedAssessments(LoyaltyProgram p, DateTimeOffset due, DateTimeOffset now)
    {
        var period = p.Growth.AssessmentMonths;
        var localDue = BrandTime.LocalDateTime(p.TimeZone, due);
        var localNow = BrandTime.LocalDateTime(p.TimeZone, now);
        var monthsBetween = (localNow.Year - localDue.Year) * 12 + localNow.Month - localDue.Month;

        // Start from the calendar estimate, then correct by whole periods (day-of-month and time of day decide the edge).
        var last = Math.Max(0, monthsBetween / period);
        while (last > 0 && BrandTime.AddMonths(p.TimeZone, due, last * period) > now)
        {
            last--;
        }

        while (BrandTime.AddMonths(p.TimeZone, due, (last + 1) * period) <= now)
        {
            last++;
        }

        return (last + 1, BrandTime.AddMonths(p.TimeZone, due, (last + 1) * period));
    }
}
