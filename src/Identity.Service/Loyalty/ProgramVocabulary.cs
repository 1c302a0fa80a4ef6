using System.Collections.Frozen;
using Identity.V1;

namespace Identity.Service.Loyalty;

/// <summary>The names the program JSON uses for enums, and the English words reasons use.</summary>
internal static class ProgramVocabulary
{
    /// <summary>
    /// Channel names are the proto enum names without the prefix, in camelCase (CHANNEL_WECHAT_MINI_PROGRAM →
    /// <c>wechatMiniProgram</c>), derived from the enum so a channel added to the contract is accepted at once.
    /// </summary>
    public static readonly FrozenDictionary<string, Channel> Channels = Enum.GetValues<Channel>()
        .Where(c => c != Channel.Unspecified)
        .ToFrozenDictionary(ChannelName, StringComparer.Ordinal);

    public static readonly FrozenDictionary<string, BenefitKind> BenefitKinds = new Dictionary<string, BenefitKind>
    {
        ["discount"] = BenefitKind.Discount,
        ["pointsMultiplier"] = BenefitKind.PointsMultiplier,
        ["freeShipping"] = BenefitKind.FreeShipping,
        ["birthdayGift"] = BenefitKind.BirthdayGift,
        ["service"] = BenefitKind.Service,
        ["couponGrant"] = BenefitKind.CouponGrant,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static readonly FrozenDictionary<string, DayOfWeek> Weekdays = Enum.GetValues<DayOfWeek>()
        .ToFrozenDictionary(d => d.ToString().ToLowerInvariant(), StringComparer.Ordinal);

    public static readonly FrozenDictionary<string, PointsExpiryKind> ExpiryKinds = new Dictionary<string, PointsExpiryKind>
    {
        ["rollingMonths"] = PointsExpiryKind.RollingMonths,
        ["endOfYear"] = PointsExpiryKind.EndOfYear,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static readonly FrozenDictionary<string, DiscountStacking> DiscountStackings = new Dictionary<string, DiscountStacking>
    {
        ["best"] = DiscountStacking.Best,
        ["sum"] = DiscountStacking.Sum,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static readonly FrozenDictionary<string, MultiplierStacking> MultiplierStackings = new Dictionary<string, MultiplierStacking>
    {
        ["best"] = MultiplierStacking.Best,
        ["sumBonus"] = MultiplierStacking.SumBonus,
        ["product"] = MultiplierStacking.Product,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static readonly string[] MonthNames =
        ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    public static string ChannelName(Channel channel)
    {
        var words = channel.ToString(); // the generated C# name, e.g. WechatMiniProgram
        return string.Concat(words[..1].ToLowerInvariant(), words[1..]);
    }

    public static string OneOf<T>(FrozenDictionary<string, T> names) where T : notnull => string.Join(", ", names.Keys.Order(StringComparer.Ordinal));
}
