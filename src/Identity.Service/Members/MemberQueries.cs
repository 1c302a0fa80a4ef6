using Identity.Service.Errors;
using Identity.Service.Phones;
using Identity.Service.Storage;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Members;

/// <summary>The member look-ups every feature shares, run on the caller's context (and so inside its transaction).</summary>
public static class MemberQueries
{
    public static Task<MemberRecord?> LoadAsync(IdentityDbContext db, string id, CancellationToken ct) =>
        db.Members.Include(m => m.Identities).Include(m => m.Consents).AsSplitQuery().FirstOrDefaultAsync(m => m.Id == id, ct);

    /// <summary>
    /// The member row alone (one read by key) when it is active and the lookup still names it, within the lookup's scope
    /// (for an identity or a scope, one more read by key); else null, and the caller resolves the lookup afresh in the
    /// store, with its errors. The id came from the cache before the write queued; everything else comes from here.
    /// </summary>
    public static async Task<MemberRecord?> LoadIfStillNamedAsync(IdentityDbContext db, ResolvedMember resolved, MemberLookup lookup,
        PhoneProtector protector, CancellationToken ct)
    {
        var id = resolved.Id;
        var member = await db.Members.FirstOrDefaultAsync(m => m.Id == id, ct);
        if (member is not { State: MemberRowState.Active })
            return null;
        var named = lookup switch
        {
            MemberLookup.ById byId => byId.MemberId == id,
            MemberLookup.ByPhone byPhone => member.PhoneIndex is { } index && index.AsSpan().SequenceEqual(protector.BlindIndex(byPhone.Phone)),
            MemberLookup.ByIdentity { Identity: var identity } => await db.ChannelIdentities.AnyAsync(
                i => i.Channel == identity.Channel && i.ExternalId == identity.ExternalId && i.MemberId == id, ct),
            _ => false,
        };
        if (!named)
            return null;
        if (lookup.Scope is { Channel: var channel } && !await db.ChannelIdentities.AnyAsync(i => i.MemberId == id && i.Channel == channel, ct))
            return null;
        return member;
    }

    public static Task<MemberRecord?> LoadByPhoneIndexAsync(IdentityDbContext db, byte[] index, CancellationToken ct) =>
        db.Members.Include(m => m.Identities).Include(m => m.Consents).AsSplitQuery().FirstOrDefaultAsync(m => m.PhoneIndex == index, ct);

    public static Task<string?> OwnerOfAsync(IdentityDbContext db, IdentityKey identity, CancellationToken ct) =>
        db.ChannelIdentities.Where(i => i.Channel == identity.Channel && i.ExternalId == identity.ExternalId)
            .Select(i => i.MemberId).FirstOrDefaultAsync(ct);

    /// <summary>
    /// Loads an active member by id, following a merged id to its survivor. A member outside <paramref name="scope"/>
    /// (erased ones included) answers exactly like an unknown id.
    /// </summary>
    public static async Task<(MemberRecord Member, string? RedirectedFrom)> LoadActiveAsync(IdentityDbContext db, string id, CancellationToken ct,
        MemberScope? scope = null)
    {
        var member = await LoadAsync(db, id, ct);
        string? redirectedFrom = null;
        if (member is { State: MemberRowState.Merged, MergedIntoId: { } survivorId })
        {
            redirectedFrom = member.Id;
            member = await LoadAsync(db, survivorId, ct);
        }
        if (member is null || (scope is not null && !scope.Admits(member)))
            ThrowNoMemberWithId(id);
        if (member.State == MemberRowState.Erased)
            IdentityException.ThrowNotFound(ErrorReasons.MemberErased, $"Member {member.Id} was erased.");
        return (member, redirectedFrom);
    }


    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void ThrowNoMemberWithId(string id) => IdentityException.ThrowNotFound(ErrorReasons.MemberNotFound, $"Member {id} does not exist.");

    /// <summary>The NOT_FOUND a lookup gets when no member it may see answers to it: the same for unknown and out of scope.</summary>
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void ThrowNotFound(MemberLookup lookup)
    {
        switch (lookup)
        {
            case MemberLookup.ByPhone:
                ThrowNoMemberWithPhone();
                break;
            case MemberLookup.ByIdentity byIdentity:
                ThrowNoMemberWithIdentity(byIdentity.Identity);
                break;
            case MemberLookup.ById byId:
                ThrowNoMemberWithId(byId.MemberId);
                break;
        }
        throw new ArgumentOutOfRangeException(nameof(lookup));
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void ThrowNoMemberWithPhone() => IdentityException.ThrowNotFound(ErrorReasons.MemberNotFound, "No member has this phone.");

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    public static void ThrowNoMemberWithIdentity(IdentityKey identity) =>
        IdentityException.ThrowNotFound(ErrorReasons.MemberNotFound, $"No member has this {(V1.Channel)identity.Channel} identity.");

    /// <summary>Finds the active member a lookup names, following merged ids; NOT_FOUND otherwise.</summary>
    public static async Task<(MemberRecord Member, string? RedirectedFrom)> ResolveAsync(
        IdentityDbContext db, PhoneProtector protector, MemberLookup lookup, CancellationToken ct)
    {
        switch (lookup)
        {
            case MemberLookup.ByPhone byPhone:
                var byIndex = await LoadByPhoneIndexAsync(db, protector.BlindIndex(byPhone.Phone), ct);
                if (byIndex is null || (lookup.Scope is { } phoneScope && !phoneScope.Admits(byIndex)))
                    ThrowNoMemberWithPhone();
                return (byIndex, null);
            case MemberLookup.ByIdentity byIdentity:
                var ownerId = await OwnerOfAsync(db, byIdentity.Identity, ct);
                var owner = ownerId is null ? null : await LoadAsync(db, ownerId, ct);
                if (owner is null || (lookup.Scope is { } identityScope && !identityScope.Admits(owner)))
                    ThrowNoMemberWithIdentity(byIdentity.Identity);
                return (owner, null);
            case MemberLookup.ById byId:
                return await LoadActiveAsync(db, byId.MemberId, ct, lookup.Scope);
            default:
                throw new ArgumentOutOfRangeException(nameof(lookup));
        }
    }
}
