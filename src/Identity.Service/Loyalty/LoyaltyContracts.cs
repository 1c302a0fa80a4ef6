using Identity.V1;

namespace Identity.Service.Loyalty;

/// <summary>A problem in a program definition: where (a JSON path such as <c>$.tiers[2].growthThreshold</c>) and what.</summary>
public sealed record ProgramProblem(string Path, string Message)
{
    public override string ToString() => $"{Path}: {Message}";
}

/// <summary>Either a valid program or every problem found in the document.</summary>
public sealed record ProgramParseResult(LoyaltyProgram? Program, IReadOnlyList<ProgramProblem> Problems)
{
    public bool IsValid => Program is not null && Problems.Count == 0;
}

/// <summary>The tier state of one member, as stored.</summary>
public sealed record TierState(string GrowthTierCode, DateTimeOffset AssessmentAt, string? PaidTierCode, DateTimeOffset? PaidExpiresAt);

/// <summary>Where and when a quote is asked for.</summary>
public readonly record struct QuoteContext(Channel Channel, string? StoreId, DateTimeOffset At);
