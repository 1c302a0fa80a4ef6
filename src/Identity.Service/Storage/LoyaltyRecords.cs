namespace Identity.Service.Storage;

/// <summary>A member's loyalty state: tier, growth, paid tier and points balance (always the sum of the entries).</summary>
public sealed class LoyaltyAccountRecord
{
    public required string MemberId { get; init; }
    public required string GrowthTierCode { get; set; }
    public DateTimeOffset AssessmentAt { get; set; }
    public string? PaidTierCode { get; set; }
    public DateTimeOffset? PaidExpiresAt { get; set; }

    /// <summary>Growth in the rolling window as of <see cref="UpdatedAt"/>.</summary>
    public long Growth { get; set; }

    public long PointsBalance { get; set; }
    public long Version { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>One append-only ledger entry. Kinds match <c>identity.v1.PointsEntryKind</c>.</summary>
public sealed class PointsEntryRecord
{
    public long Id { get; init; }
    public required string MemberId { get; set; }
    public int Kind { get; init; }
    public long Points { get; init; }
    public long BalanceAfter { get; init; }
    public required string Reference { get; init; }
    public string? Reason { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>Points earned together, with one expiry. Redemptions consume the soonest-expiring lots first.</summary>
public sealed class PointsLotRecord
{
    public long Id { get; init; }
    public required string MemberId { get; set; }
    public long Points { get; init; }
    public long Remaining { get; set; }
    public DateTimeOffset EarnedAt { get; init; }
    public DateTimeOffset ExpiresAt { get; init; }
    public required string Source { get; init; }
}

/// <summary>A recorded order; (channel, order id) is its idempotency key.</summary>
public sealed class OrderRecord
{
    public int Channel { get; init; }
    public required string OrderId { get; init; }
    public required string MemberId { get; set; }
    public string? StoreId { get; init; }
    public string? GuideId { get; init; }
    public long AmountFen { get; init; }
    public DateTimeOffset PaidAt { get; init; }
    public long PointsEarned { get; init; }
    public long GrowthEarned { get; init; }
    public long RefundedFen { get; set; }
    public long PointsReversed { get; set; }
    public long GrowthReversed { get; set; }
    public bool Partner { get; init; }
}

/// <summary>Growth gained (or taken back) at an instant; growth is the sum over the rolling window.</summary>
public sealed class GrowthEventRecord
{
    public long Id { get; init; }
    public required string MemberId { get; set; }
    public long Amount { get; init; }

    /// <summary>The order's paid-at instant, also for refunds, so a purchase and its refund leave the window together.</summary>
    public DateTimeOffset OccurredAt { get; init; }

    public required string Reference { get; init; }
}

/// <summary>The result of a keyed write, so a repeat returns it and a different payload under the same key is refused.</summary>
public sealed class IdempotencyRecord
{
    public required string Scope { get; init; }
    public required string Key { get; init; }
    public required byte[] RequestHash { get; init; }

    /// <summary>The member the request resolved to, so that erasing the member also drops what its keys recorded.</summary>
    public string? MemberId { get; init; }
    /// <summary>The response message, or for a refused request the UTF-8 message of its error.</summary>
    public required byte[] Response { get; init; }

    /// <summary>Set when the original request was refused for the member's state (e.g. INSUFFICIENT_POINTS): a repeat is refused the same way.</summary>
    public string? FailureReason { get; init; }

    public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>One check-in per member per brand-local day.</summary>
public sealed class CheckInRecord
{
    public required string MemberId { get; set; }
    public required string LocalDate { get; init; }
    public long Points { get; init; }
    public DateTimeOffset At { get; init; }
}

/// <summary>A published program version; the highest is in force.</summary>
public sealed class ProgramRecord
{
    public int Version { get; init; }
    public required string Json { get; init; }
    public required byte[] Hash { get; init; }
    public DateTimeOffset PublishedAt { get; init; }
}
