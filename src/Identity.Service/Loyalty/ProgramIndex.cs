using System.Collections.Frozen;
using System.Globalization;
using System.Runtime.CompilerServices;
using Identity.V1;

namespace Identity.Service.Loyalty;

/// <summary>
/// A program prepared for the hot path, once per program instance: tiers by code, benefit conditions as bit masks and
/// every reason line prebuilt, so a quote does lookups and no formatting. Kept beside the program rather than in it so
/// the program stays a plain record (equality, <c>with</c>) and a changed copy gets its own index.
/// </summary>
internal sealed class ProgramIndex
{
    private static readonly ConditionalWeakTable<LoyaltyProgram, ProgramIndex> Cache = new();

    private readonly FrozenDictionary<string, int> _positions;

    private ProgramIndex(LoyaltyProgram program)
    {
        Tiers = [.. program.Tiers];
        _positions = Tiers.Select((t, i) => (t.Code, i)).ToFrozenDictionary(p => p.Code, p => p.i, StringComparer.Ordinal);
        GrowthTiers = [.. Tiers.Where(t => t.Paid is null).OrderBy(t => t.GrowthThreshold)];
        Benefits = [.. program.Benefits.Select(b => new BenefitRule(b, Tiers))];
    }

    public static ProgramIndex For(LoyaltyProgram program) => Cache.GetValue(program, static p => new ProgramIndex(p));

    /// <summary>In program order: a tier's position here indexes the per-tier tables.</summary>
    public TierDefinition[] Tiers { get; }

    /// <summary>Lowest threshold first.</summary>
    public TierDefinition[] GrowthTiers { get; }

    public BenefitRule[] Benefits { get; }

    public int PositionOf(TierDefinition tier) => _positions[tier.Code];

    public TierDefinition? GrowthTier(string? code) =>
        code is not null && _positions.TryGetValue(code, out var i) && Tiers[i].Paid is null ? Tiers[i] : null;

    public TierDefinition? PaidTier(string? code) =>
        code is not null && _positions.TryGetValue(code, out var i) && Tiers[i].Paid is not null ? Tiers[i] : null;

    /// <summary>Position of a growth tier in <see cref="GrowthTiers"/>.</summary>
    public int GrowthStep(TierDefinition growthTier) => Array.IndexOf(GrowthTiers, growthTier);

    public int GrowthStepFor(long growth)
    {
        var step = 0;
        for (var i = 1; i < GrowthTiers.Length && GrowthTiers[i].GrowthThreshold <= growth; i++)
        {
            step = i;
        }

        return step;
    }

    public TierDefinition GrowthTierFor(long growth) => GrowthTiers[GrowthStepFor(growth)];

    public TierDefinition? NextGrowthTier(TierDefinition growthTier)
    {
        var step = GrowthStep(growthTier);
        return step >= 0 && step + 1 < GrowthTiers.Length ? GrowthTiers[step + 1] : null;
    }
}

/// <summary>One benefit's conditions in a form that is cheap to test, and its reason lines.</summary>
internal sealed class BenefitRule
{
    private const int MaxMaskedChannel = 63;

    // Reasons indexed by [tier][birthday month][weekday][channel], each dimension 1 wide when the text does not vary with it.
    private readonly string[] _reasons;
    private readonly int _tierWidth;
    private readonly int _monthWidth;
    private readonly int _dayWidth;
    private readonly int[]? _channelSlots;
    private readonly int _channelWidth;

    public BenefitRule(BenefitDefinition definition, TierDefinition[] tiers)
    {
        Definition = definition;
        var c = definition.Conditions;
        if (definition.Tiers.Count > 0)
        {
            ForTier = [.. tiers.Select(t => definition.Tiers.Contains(t.Code))];
        }

        Channels = c.Channels?.Where(ch => (int)ch is >= 0 and <= MaxMaskedChannel).Aggregate(0UL, (mask, ch) => mask | 1UL << (int)ch) ?? 0;
        Stores = c.Stores is { Count: > 0 } stores ? stores.ToFrozenSet(StringComparer.Ordinal) : null;
        Weekdays = c.Weekdays?.Aggregate(0, (mask, d) => mask | 1 << (int)d) ?? 0;

        _tierWidth = c.BirthdayMonth ? 1 : tiers.Length;
        _monthWidth = c.BirthdayMonth ? 12 : 1;
        _dayWidth = Weekdays != 0 ? 7 : 1;
        Channel[]? allowed = null;
        if (Channels != 0)
        {
            allowed = [.. c.Channels!.Where(ch => (int)ch is >= 0 and <= MaxMaskedChannel).Order()];
            _channelSlots = new int[MaxMaskedChannel + 1];
            for (var i = 0; i < allowed.Length; i++)
            {
                _channelSlots[(int)allowed[i]] = i;
            }
        }

        _channelWidth = allowed?.Length ?? 1;
        _reasons = new string[_tierWidth * _monthWidth * _dayWidth * _channelWidth];
        var detail = Detail(definition);
        for (var t = 0; t < _tierWidth; t++)
        {
            for (var m = 0; m < _monthWidth; m++)
            {
                for (var d = 0; d < _dayWidth; d++)
                {
                    for (var ch = 0; ch < _channelWidth; ch++)
                    {
                        _reasons[Slot(t, m, d, ch)] = Reason(definition, tiers[t].Name, m + 1, (DayOfWeek)d, allowed?[ch], detail);
                    }
                }
            }
        }
    }

    public BenefitDefinition Definition { get; }

    /// <summary>By tier position; null when the benefit is for every tier.</summary>
    public bool[]? ForTier { get; }

    /// <summary>Bit per channel value; 0 = any channel.</summary>
    public ulong Channels { get; }

    public FrozenSet<string>? Stores { get; }

    /// <summary>Bit per <see cref="DayOfWeek"/>; 0 = any day.</summary>
    public int Weekdays { get; }

    public bool Applies(int tierPosition, Channel channel, string? storeId, DateOnly localDate, DayOfWeek localDay, int birthdayMonth, bool paidValid)
    {
        var c = Definition.Conditions;
        return (ForTier is null || ForTier[tierPosition])
            && (Channels == 0 || ((uint)channel <= MaxMaskedChannel && (Channels & 1UL << (int)channel) != 0))
            && (Stores is null || (!string.IsNullOrEmpty(storeId) && Stores.Contains(storeId)))
            && (!c.BirthdayMonth || birthdayMonth == localDate.Month)
            && (Weekdays == 0 || (Weekdays & 1 << (int)localDay) != 0)
            && (c.From is not { } from || localDate >= from)
            && (c.To is not { } to || localDate <= to)
            && (!c.PaidOnly || paidValid);
    }

    /// <summary>The prebuilt reason; only called when <see cref="Applies"/> held, so the channel has a slot.</summary>
    public string Reason(int tierPosition, int month, DayOfWeek day, Channel channel) => _reasons[Slot(
        _tierWidth == 1 ? 0 : tierPosition,
        _monthWidth == 1 ? 0 : month - 1,
        _dayWidth == 1 ? 0 : (int)day,
        _channelSlots is null ? 0 : _channelSlots[(int)channel])];

    private int Slot(int tier, int month, int day, int channel) => ((tier * _monthWidth + month) * _dayWidth + day) * _channelWidth + channel;

    private static string Detail(BenefitDefinition b) => b.Kind switch
    {
        BenefitKind.Discount => (b.DiscountBp / 100m).ToString("0.##", CultureInfo.InvariantCulture) + "% off",
        BenefitKind.PointsMultiplier => Multiplier(b.MultiplierMilli) + " points",
        BenefitKind.FreeShipping => "free shipping",
        BenefitKind.BirthdayGift => "gift",
        _ => b.Name,
    };

    public static string Multiplier(int milli) => (milli / 1000m).ToString("0.###", CultureInfo.InvariantCulture) + "x";

    // "Birthday month (May): gift", "金卡 member day: Wednesday, 2x points", "银卡 tier discount: 5% off", plus where and until when.
    private static string Reason(BenefitDefinition b, string tierName, int month, DayOfWeek day, Channel? channel, string detail)
    {
        var c = b.Conditions;
        var weekday = day.ToString();
        var text = c.BirthdayMonth
            ? $"Birthday month ({ProgramVocabulary.MonthNames[month - 1]}){(c.Weekdays is { Count: > 0 } ? ", " + weekday : "")}: {detail}"
            : c.Weekdays is { Count: > 0 }
                ? $"{tierName} member day: {weekday}, {detail}"
                : $"{tierName} tier {Label(b.Kind)}: {detail}";

        var where = new List<string>(3);
        if (channel is { } ch)
        {
            where.Add(ProgramVocabulary.ChannelName(ch));
        }

        if (c.Stores is { Count: > 0 })
        {
            where.Add("this store");
        }

        if (c.To is { } to)
        {
            where.Add("until " + to.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        }
        else if (c.From is { } from)
        {
            where.Add("since " + from.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        }

        return where.Count == 0 ? text : $"{text} ({string.Join(", ", where)})";
    }

    private static string Label(BenefitKind kind) => kind switch
    {
        BenefitKind.Discount => "discount",
        BenefitKind.PointsMultiplier => "points",
        BenefitKind.BirthdayGift => "gift",
        BenefitKind.Service => "service",
        BenefitKind.CouponGrant => "coupon",
        _ => "benefit",
    };
}
