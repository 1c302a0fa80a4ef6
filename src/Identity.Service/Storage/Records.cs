namespace Identity.Service.Storage;

/// <summary>The lifecycle of a member row; values match <c>identity.v1.MemberState</c>.</summary>
public enum MemberRowState
{
    Active = 1,
    Merged = 2,
    Erased = 3,
}

/// <summary>A member row. The phone is stored only as ciphertext plus a blind index; the plaintext never touches disk.</summary>
public sealed class MemberRecord
{
    public required string Id { get; init; }
    public MemberRowState State { get; set; } = MemberRowState.Active;

    /// <summary>AES-GCM ciphertext of the E.164 phone; null when the member has no phone (or was merged or erased).</summary>
    public byte[]? PhoneCiphertext { get; set; }

    /// <summary>HMAC-SHA256 of the E.164 phone; unique among members, null when there is no phone.</summary>
    public byte[]? PhoneIndex { get; set; }

    public string? Name { get; set; }
    public int Gender { get; set; }
    public string? Birthday { get; set; }

    public int EnrolledChannel { get; set; }
    public string? EnrolledStoreId { get; set; }
    public string? EnrolledGuideId { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Bumped by every write that touches the member (CacheChangeInterceptor); also the optimistic-concurrency token.</summary>
    public long Version { get; set; }

    /// <summary>For a merged member: the survivor (always the final one; chains are collapsed on merge).</summary>
    public string? MergedIntoId { get; set; }

    public DateTimeOffset? ErasedAt { get; set; }

    /// <summary>Why the member was erased: an <c>identity.v1.ErasureReason</c> value, never free text.</summary>
    public int ErasureReasonCode { get; set; }

    /// <summary>The deletion request's ticket reference (letters, digits, '-' and '_'), kept with the erasure record.</summary>
    public string? ErasureTicketRef { get; set; }

    public List<ChannelIdentityRecord> Identities { get; set; } = [];

    public List<ConsentRecord> Consents { get; set; } = [];

    /// <summary>Marks the row changed; the version is bumped when it is saved (CacheChangeInterceptor).</summary>
    public void Touch(DateTimeOffset now) => UpdatedAt = now;
}

/// <summary>One channel identity; its key (channel, external id) has exactly one owner.</summary>
public sealed class ChannelIdentityRecord
{
    public int Channel { get; init; }
    public required string ExternalId { get; init; }
    public required string MemberId { get; set; }
    public DateTimeOffset BoundAt { get; init; }
    public int BoundViaChannel { get; init; }
    public string? BoundAtStoreId { get; init; }
}

/// <summary>The audit record of a merge: who absorbed whom, why, and what moved.</summary>
public sealed class MergeRecordRow
{
    public required string Id { get; init; }
    public required string SurvivorId { get; init; }
    public required string AbsorbedId { get; init; }
    public int Kind { get; init; }
    public required string Reason { get; init; }
    public required string Actor { get; init; }

    /// <summary>The moved identities as JSON: <c>[{"c":2,"x":"openid"}]</c>.</summary>
    public required string MovedIdentities { get; init; }

    /// <summary>Comma-separated profile fields the absorbed member filled in on the survivor.</summary>
    public required string FilledFields { get; init; }

    public DateTimeOffset MergedAt { get; init; }
}
