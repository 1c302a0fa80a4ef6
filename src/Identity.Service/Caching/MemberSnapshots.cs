using Identity.Service.Members;
using Identity.Service.Phones;
using Identity.V1;

namespace Identity.Service.Caching;

/// <summary>Resolves a lookup to the member's snapshot through the cache; what is not found is answered by the directory's errors.</summary>
public sealed class MemberSnapshots(MemberCache cache, PhoneProtector protector, MemberDirectory directory)
{
    public async Task<(MemberSnapshot Snapshot, string? RedirectedFrom)> ResolveAsync(MemberLookup lookup, CancellationToken ct)
    {
        var (snapshot, redirectedFrom) = lookup switch
        {
            MemberLookup.ByPhone byPhone => (await cache.ByPhoneAsync(protector.BlindIndex(byPhone.Phone), ct), null),
            MemberLookup.ByIdentity byIdentity => (await cache.ByIdentityAsync(byIdentity.Identity, ct), null),
            MemberLookup.ById byId => await cache.ByIdAsync(byId.MemberId, ct),
            _ => throw new ArgumentOutOfRangeException(nameof(lookup)),
        };
        if (snapshot is not null)
            return (snapshot, redirectedFrom);
        // Not found (or erased): the directory says which, with the right reason. It throws.
        await directory.ResolveAsync(lookup, ct);
        throw new InvalidOperationException("The store has a member the cache did not find.");
    }
}
