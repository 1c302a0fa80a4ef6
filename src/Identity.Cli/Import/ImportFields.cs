namespace Identity.Cli.Import;

/// <summary>The ImportRow fields a CSV column can fill, by their proto names (also the default header names).</summary>
internal static class ImportFields
{
    public const string SourceRowKey = "source_row_key";
    public const string Channel = "channel";
    public const string ExternalId = "external_id";
    public const string UnionId = "union_id";
    public const string Phone = "phone";
    public const string Name = "name";
    public const string Gender = "gender";
    public const string Birthday = "birthday";
    public const string RegisteredAt = "registered_at";
    public const string StoreId = "store_id";
    public const string GuideId = "guide_id";
    public const string PointsBalance = "points_balance";
    public const string PointsExpireAt = "points_expire_at";
    public const string TierHint = "tier_hint";
    public const string GrowthValue = "growth_value";
    public const string PaidTierExpiresAt = "paid_tier_expires_at";

    public static readonly IReadOnlyList<string> All =
    [
        SourceRowKey, Channel, ExternalId, UnionId, Phone, Name, Gender, Birthday, RegisteredAt, StoreId, GuideId,
        PointsBalance, PointsExpireAt, TierHint, GrowthValue, PaidTierExpiresAt,
    ];
}
