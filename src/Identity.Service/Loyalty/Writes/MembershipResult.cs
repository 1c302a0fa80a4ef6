namespace Identity.Service.Loyalty.Writes;

/// <summary>A paid tier bought or renewed, and until when it holds.</summary>
public sealed record MembershipResult(string MemberId, TierDefinition Tier, DateTimeOffset ExpiresAt, bool Renewed);
