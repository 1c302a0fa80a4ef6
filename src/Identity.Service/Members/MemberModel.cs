using Identity.Service.Phones;
using Identity.V1;

namespace Identity.Service.Members;

/// <summary>A channel identity key; (channel, external id) has exactly one owning member.</summary>
public readonly record struct IdentityKey(int Channel, string ExternalId);

/// <summary>Profile values from a request; null means "not given".</summary>
public sealed record ProfileValues(string? Name, int? Gender, string? Birthday)
{
    public static readonly ProfileValues None = new(null, null, null);
}

/// <summary>Where a write happened.</summary>
public sealed record Source(int Channel, string? StoreId, string? GuideId)
{
    public override string ToString() =>
        $"{(V1.Channel)Channel}" + (StoreId is null ? "" : $" store {StoreId}") + (GuideId is null ? "" : $" guide {GuideId}");
}

/// <summary>An erasure: the member, why (a code) and the deletion request's ticket reference.</summary>
public sealed record EraseCommand(string MemberId, ErasureReason Reason, string? TicketRef);

public sealed record EnrollCommand(Phone? Phone, IReadOnlyList<IdentityKey> Identities, ProfileValues Profile, Source Source);

/// <summary>How a call names its member, and the scope the caller is held to (null: any member).</summary>
public abstract record MemberLookup
{
    /// <summary>A member outside this scope is answered exactly like one that does not exist.</summary>
    public MemberScope? Scope { get; init; }

    public sealed record ByPhone(Phone Phone) : MemberLookup;

    public sealed record ByIdentity(IdentityKey Identity) : MemberLookup;

    public sealed record ById(string MemberId) : MemberLookup;
}

public enum MergeKind
{
    PhoneProof = 1,
    Operator = 2,
}
