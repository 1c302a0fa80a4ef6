namespace Identity.Service.Loyalty.Writes;

/// <summary>What an order did: the points and growth it earned, and the member's balance and tier right after.</summary>
public sealed record OrderResult(
    string MemberId, long PointsEarned, long GrowthEarned, int PointsMultiplierMilli, long PointsBalance, TierDefinition? Tier, bool Upgraded,
    DateTimeOffset PointsExpireAt);
