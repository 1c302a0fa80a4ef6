using Identity.Service.Members;

namespace Identity.Service.Import;

/// <summary>What one batch does to one member: a new member's row, or the changes to one that exists; its migrated loyalty.</summary>
public sealed class MemberWork(string id, bool isNew)
{
    public string Id { get; } = id;

    /// <summary>True when the batch creates the member; false for one already in the store.</summary>
    public bool IsNew { get; } = isNew;

    public byte[]? PhoneCiphertext { get; set; }
    public byte[]? PhoneIndex { get; set; }

    /// <summary>An existing member without a phone takes the row's phone.</summary>
    public bool PhoneAdded { get; set; }

    public string? Name { get; set; }
    public int Gender { get; set; }
    public string? Birthday { get; set; }
    public int Channel { get; set; }
    public string? StoreId { get; set; }
    public string? GuideId { get; set; }
    public DateTimeOffset CreatedAt { get; set; }

    public List<(IdentityKey Key, int ViaChannel, string? StoreId)> Identities { get; } = [];
    public List<(long Points, DateTimeOffset ExpiresAt, string Reference)> Points { get; } = [];
    public List<(long Growth, string Reference)> Growth { get; } = [];
    public string? GrowthTierHint { get; set; }
    public string? PaidTierCode { get; set; }
    public DateTimeOffset? PaidExpiresAt { get; set; }

    /// <summary>For an existing member: a profile field was offered to fill a gap.</summary>
    public bool ProfileOffered { get; set; }

    public bool HasLoyalty => Points.Count > 0 || Growth.Count > 0 || GrowthTierHint is not null || PaidTierCode is not null;

    public bool MemberChanged => IsNew || PhoneAdded || Identities.Count > 0 || ProfileOffered;
}
