using System.Globalization;
using Google.Protobuf.Reflection;
using Identity.V1;

namespace Identity.Cli;

/// <summary>
/// The command-line spelling of a proto enum: the value's proto name without the enum prefix, in lower case
/// (CHANNEL_WECHAT_MINI_PROGRAM is <c>wechat_mini_program</c>). Hyphens are accepted for underscores.
/// </summary>
internal sealed class EnumNames<T> where T : struct, Enum
{
    private readonly Dictionary<string, T> byName = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<int, string> byNumber = [];

    public EnumNames(FileDescriptor file, string prefix)
    {
        var descriptor = file.EnumTypes.Single(e => e.ClrType == typeof(T));
        foreach (var value in descriptor.Values)
        {
            var name = value.Name.StartsWith(prefix, StringComparison.Ordinal) ? value.Name[prefix.Length..] : value.Name;
            name = name.ToLowerInvariant();
            byNumber[value.Number] = name;
            // The zero value means "not given" on the wire, so it is never a choice on the command line.
            if (value.Number != 0)
            {
                byName[name] = (T)Enum.ToObject(typeof(T), value.Number);
            }
        }
        Names = [.. byName.Keys];
    }

    public IReadOnlyList<string> Names { get; }

    public bool TryParse(string text, out T value) =>
        byName.TryGetValue(text.Trim().Replace('-', '_'), out value);

    public string Format(T value)
    {
        var number = Convert.ToInt32(value, CultureInfo.InvariantCulture);
        return byNumber.TryGetValue(number, out var name) ? name : number.ToString(CultureInfo.InvariantCulture);
    }
}

internal static class ProtoNames
{
    public static readonly EnumNames<Channel> Channel = new(CommonReflection.Descriptor, "CHANNEL_");
    public static readonly EnumNames<Gender> Gender = new(CommonReflection.Descriptor, "GENDER_");
    public static readonly EnumNames<MemberState> MemberState = new(MemberReflection.Descriptor, "MEMBER_STATE_");
    public static readonly EnumNames<MergeKind> MergeKind = new(MemberReflection.Descriptor, "MERGE_KIND_");
    public static readonly EnumNames<ConsentPurpose> ConsentPurpose = new(MemberReflection.Descriptor, "CONSENT_PURPOSE_");
    public static readonly EnumNames<ErasureReason> ErasureReason = new(MemberReflection.Descriptor, "ERASURE_REASON_");
    public static readonly EnumNames<ClientRole> ClientRole = new(AdminReflection.Descriptor, "CLIENT_ROLE_");
    public static readonly EnumNames<BenefitKind> BenefitKind = new(LoyaltyReflection.Descriptor, "BENEFIT_KIND_");
    public static readonly EnumNames<PointsEntryKind> PointsEntryKind = new(LoyaltyReflection.Descriptor, "POINTS_ENTRY_KIND_");
}
