using Identity.Service.Phones;
using Identity.V1;

namespace Identity.Service.Members;

/// <summary>How a call names its member, and the scope the caller is held to (null: any member).</summary>
public abstract record MemberLookup
{
    /// <summary>A member outside this scope is answered exactly like one that does not exist.</summary>
    public MemberScope? Scope { get; init; }

    public sealed record ByPhone(Phone Phone) : MemberLookup;

    public sealed record ByIdentity(IdentityKey Identity) : MemberLookup;

    public sealed record ById(string MemberId) : MemberLookup;
}
