using Identity.V1;

namespace Identity.Service.Loyalty;

/// <summary>
/// A tier program as data: the tier ladder, growth and points rules, benefits and stacking rules. Immutable; parsed and
/// validated from JSON by <see cref="ProgramParser"/> (format in docs/program.md). <see cref="Version"/> is assigned when
/// the program is published.
/// </summary>
public sealed record LoyaltyProgram
{
    public int Version { get; init; }
    public required string Name { get; init; }

    /// <summary>The brand's time zone: calendar conditions, check-in days and expiry dates are brand-local.</summary>
    public required TimeZoneInfo TimeZone { get; init; }

    /// <summary>Lowest first; a tier's <see cref="TierDefinition.Rank"/> is its index. Paid tiers rank above growth tiers.</summary>
    public required IReadOnlyList<TierDefinition> Tiers { get; init; }

    public required GrowthRules Growth { get; init; }
    public required PointsRules Points { get; init; }
    public required IReadOnlyList<BenefitDefinition> Benefits { get; init; }
    public required StackingRules Stacking { get; init; }

    /// <summary>The tier with this code, or null when the program has none (e.g. removed by a later version).</summary>
    public TierDefinition? FindTier(string? code) => code is null ? null : Tiers.FirstOrDefault(t => t.Code == code);

    /// <summary>The lowest growth tier: where every member starts.</summary>
    public TierDefinition EntryTier => Tiers.First(t => t.Paid is null);

    /// <summary>The highest growth tier whose threshold the growth reaches.</summary>
    public TierDefinition GrowthTierFor(long growth) => Tiers.Where(t => t.Paid is null && t.GrowthThreshold <= growth).MaxBy(t => t.Rank) ?? EntryTier;
}

/// <summary>A tier. Growth tiers have a threshold; paid tiers have terms and are held while paid, whatever the growth.</summary>
public sealed record TierDefinition(string Code, string Name, int Rank, long GrowthThreshold, PaidTerms? Paid);

public sealed record PaidTerms(long PriceFen, int TermDays);

/// <param name="PerYuanMilli">Growth per yuan paid, in thousandths (1000 = 1 growth per yuan).</param>
/// <param name="WindowMonths">Growth counts purchases minus refunds in this rolling window.</param>
/// <param name="AssessmentMonths">Time between tier assessments (downgrades happen only then).</param>
/// <param name="MaxDropTiers">How many tiers one assessment can drop.</param>
public sealed record GrowthRules(int PerYuanMilli, int WindowMonths, int AssessmentMonths, int MaxDropTiers);

/// <param name="PerYuanMilli">Base points per yuan paid, in thousandths.</param>
/// <param name="PartnerPerYuanMilli">Points per yuan for partner-reported co-branded orders, in thousandths.</param>
/// <param name="CheckInPoints">Points for the daily check-in (0 disables it).</param>
public sealed record PointsRules(int PerYuanMilli, int PartnerPerYuanMilli, PointsExpiry Expiry, int CheckInPoints);

public enum PointsExpiryKind
{
    /// <summary>Points expire at the end of the brand-local day <see cref="PointsExpiry.Months"/> months after they were earned.</summary>
    RollingMonths = 1,

    /// <summary>Points expire at the end of the brand-local calendar year that follows the year they were earned in, plus Months/12 - 1 more years (Months = 12: end of next year).</summary>
    EndOfYear = 2,
}

public sealed record PointsExpiry(PointsExpiryKind Kind, int Months);

/// <summary>
/// A benefit: its kind and value, the tiers it is for (empty = every tier) and the conditions under which it applies.
/// </summary>
public sealed record BenefitDefinition(
    string Code,
    BenefitKind Kind,
    string Name,
    int DiscountBp,
    int MultiplierMilli,
    string? Value,
    IReadOnlySet<string> Tiers,
    BenefitConditions Conditions);

/// <summary>All given conditions must hold. Null or empty sets mean "no restriction".</summary>
public sealed record BenefitConditions(
    IReadOnlySet<Channel>? Channels,
    IReadOnlySet<string>? Stores,
    bool BirthdayMonth,
    IReadOnlySet<DayOfWeek>? Weekdays,
    DateOnly? From,
    DateOnly? To,
    bool PaidOnly)
{
    public static readonly BenefitConditions None = new(null, null, false, null, null, null, false);
}

public enum DiscountStacking
{
    /// <summary>Only the largest discount applies.</summary>
    Best = 1,

    /// <summary>Discounts add up, capped at <see cref="StackingRules.MaxDiscountBp"/>.</summary>
    Sum = 2,
}

public enum MultiplierStacking
{
    /// <summary>Only the largest multiplier applies.</summary>
    Best = 1,

    /// <summary>The bonuses add up: 1.5x and 2x give 1 + 0.5 + 1 = 2.5x, capped.</summary>
    SumBonus = 2,

    /// <summary>Multipliers multiply: 1.5x and 2x give 3x, capped.</summary>
    Product = 3,
}

public sealed record StackingRules(DiscountStacking Discount, MultiplierStacking Multiplier, int MaxDiscountBp, int MaxMultiplierMilli);
