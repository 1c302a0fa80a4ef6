namespace Identity.Service.Loyalty.Writes;

/// <summary>What a refund took back, and the member's balance and tier right after.</summary>
public sealed record RefundResult(string MemberId, long PointsReversed, long GrowthReversed, long PointsBalance, TierDefinition Tier);
