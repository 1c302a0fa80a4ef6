namespace Identity.Service.Storage;

/// <summary>A registered caller. Only the SHA-256 of its key is kept.</summary>
public sealed class ClientRecord
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public int Role { get; init; }

    /// <summary>POS only: comma-separated store ids it may write for; null = any.</summary>
    public string? Stores { get; init; }

    /// <summary>Mini-program only: the channel whose identities it may use.</summary>
    public int Channel { get; init; }

    public int RequestsPerSecond { get; init; }
    public required byte[] KeyHash { get; init; }
    public required string KeyPrefix { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? RevokedAt { get; set; }
}

/// <summary>One audited call: who, what, which member, outcome, when. Never a phone, a name or a key.</summary>
public sealed class AuditEventRecord
{
    public long Id { get; init; }
    public required string ClientId { get; init; }
    public required string ClientName { get; init; }
    public required string Rpc { get; init; }
    /// <summary>The member the call concerned; cleared when that member is erased.</summary>
    public string? MemberId { get; set; }
    public required string Outcome { get; init; }
    public DateTimeOffset OccurredAt { get; init; }

    /// <summary>
    /// How many calls the row stands for: 1 for an audited call; for refused calls (denied, over the rate limit) the
    /// count of one client's refusals of one RPC in the minute starting at <see cref="OccurredAt"/>.
    /// </summary>
    public int Count { get; set; } = 1;
}

/// <summary>One consent decision; the newest per purpose is in force.</summary>
public sealed class ConsentRecord
{
    public long Id { get; init; }
    public required string MemberId { get; set; }
    public int Purpose { get; init; }
    public bool Granted { get; init; }
    public int Channel { get; init; }
    public DateTimeOffset DecidedAt { get; init; }
}

/// <summary>A partner's pseudonymous id for a member (a keyed hash), so the partner can name the member again.</summary>
public sealed class PartnerLinkRecord
{
    public required string ClientId { get; init; }
    public required string PartnerMemberId { get; init; }
    public required string MemberId { get; set; }
}
