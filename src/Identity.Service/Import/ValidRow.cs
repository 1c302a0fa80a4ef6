using Identity.Service.Members;
using Identity.Service.Phones;

namespace Identity.Service.Import;

/// <summary>A row whose fields are all valid, normalised: the phone in E.164 with its blind index, identities as keys.</summary>
public sealed class ValidRow
{
    public required Phone? Phone { get; init; }
    public required byte[]? PhoneIndex { get; init; }

    /// <summary>The phone encrypted as enrolment stores it (done before the write gate, used when the row creates or gives a phone).</summary>
    public required byte[]? PhoneCiphertext { get; init; }
    public required IReadOnlyList<IdentityKey> Identities { get; init; }

    /// <summary>The ImportRow field each identity came from (external_id or union_id), to name it in a conflict.</summary>
    public required IReadOnlyList<string> IdentityFields { get; init; }

    /// <summary>The enrolment channel: the row's channel, or CHANNEL_CRM_IMPORT.</summary>
    public int Channel { get; init; }

    public string? Name { get; init; }
    public int Gender { get; init; }
    public string? Birthday { get; init; }
    public DateTimeOffset? RegisteredAt { get; init; }
    public string? StoreId { get; init; }
    public string? GuideId { get; init; }
    public long Points { get; init; }

    /// <summary>When the migrated points expire (the policy already applied).</summary>
    public DateTimeOffset PointsExpireAt { get; init; }

    /// <summary>A growth tier code to start from, or null.</summary>
    public string? GrowthTierHint { get; init; }

    public long Growth { get; init; }

    /// <summary>The paid tier held until <see cref="PaidExpiresAt"/> (only when that is in the future).</summary>
    public string? PaidTierCode { get; init; }

    public DateTimeOffset? PaidExpiresAt { get; init; }
}
