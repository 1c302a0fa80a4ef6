using Identity.Service.Errors;
using Identity.Service.Members;
using Identity.Service.Phones;
using Identity.V1;

namespace Identity.Service.Caching;

/// <summary>Resolves a lookup to the member's snapshot through the cache; what is not found is answered by the directory's errors.</summary>
public sealed class MemberSnapshots(MemberCache cache, PhoneProtector protector, MemberDirectory directory)
{
    public async Task<(MemberSnapshot Snapshot, string? RedirectedFrom)> ResolveAsync(MemberLookup lookup, CancellationToken ct)
    {
        var found = await FindAsync(lookup, ct);
        // A member outside the caller's scope is answered exactly like one that does not exist.
        if (lookup.Scope is { } scope && !scope.Admits(found.Snapshot.Member))
            MemberQueries.ThrowNotFound(lookup);
        return found;
    }

    /// <summary>
    /// The id of the member a lookup names, for a write that checks in the store that the lookup still leads there
    /// (<see cref="MemberQueries.LoadIfStillNamedAsync"/>): from the cache's lookup entries when they know it, without the
    /// snapshot. An order invalidates its member's snapshot, so the next order would otherwise reload the whole snapshot
    /// only to learn the id. Null when the lookup names no member here: the write then resolves it in the store.
    /// </summary>
    public async Task<string?> MemberIdAsync(MemberLookup lookup, CancellationToken ct)
    {
        var cached = lookup switch
        {
            MemberLookup.ById byId => byId.MemberId,
            MemberLookup.ByPhone byPhone => await cache.MemberIdByPhoneAsync(protector.BlindIndex(byPhone.Phone)),
            MemberLookup.ByIdentity byIdentity => await cache.MemberIdByIdentityAsync(byIdentity.Identity),
            _ => null,
        };
        if (cached is not null)
            return cached;
        try
        {
            return (await ResolveAsync(lookup, ct)).Snapshot.Member.MemberId;
        }
        catch (IdentityException)
        {
            return null;
        }
    }

    async Task<(MemberSnapshot Snapshot, string? RedirectedFrom)> FindAsync(MemberLookup lookup, CancellationToken ct)
    {
        switch (lookup)
        {
            case MemberLookup.ByPhone byPhone:
                // A remembered "not found" answers here, without going back to the store.
                var byIndex = await cache.ByPhoneAsync(protector.BlindIndex(byPhone.Phone), ct);
                if (byIndex is null)
                    MemberQueries.ThrowNoMemberWithPhone();
                return (byIndex, null);
            case MemberLookup.ByIdentity byIdentity:
                var owner = await cache.ByIdentityAsync(byIdentity.Identity, ct);
                if (owner is null)
                    MemberQueries.ThrowNoMemberWithIdentity(byIdentity.Identity);
                return (owner, null);
            case MemberLookup.ById byId:
                var (snapshot, redirectedFrom) = await cache.ByIdAsync(byId.MemberId, ct);
                if (snapshot is not null)
                    return (snapshot, redirectedFrom);
                // An id is either unknown or erased: the directory says which, with the right reason. It throws.
                await directory.ResolveAsync(lookup, ct);
                throw new InvalidOperationException("The store has a member the cache did not find.");
            default:
                throw new ArgumentOutOfRangeException(nameof(lookup));
        }
    }
}
