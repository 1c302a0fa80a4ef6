using Identity.Service.Members;
using Identity.Service.Storage;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Caching;

/// <summary>
/// What a write touched, collected inside its transaction: the members (with their new snapshot versions) and the
/// lookup keys (phones, identities) whose answer may have changed. Applied to the caches after the commit.
/// </summary>
public sealed class CacheChange
{
    readonly Dictionary<string, long> members = [];
    readonly HashSet<string> phoneIndexes = [];
    readonly HashSet<IdentityKey> identities = [];

    public IReadOnlyDictionary<string, long> Members => members;
    public IEnumerable<byte[]> PhoneIndexes => phoneIndexes.Select(Convert.FromBase64String);
    public IReadOnlyCollection<IdentityKey> Identities => identities;

    public bool IsEmpty => members.Count == 0 && phoneIndexes.Count == 0 && identities.Count == 0;

    public void Phone(byte[]? index)
    {
        if (index is not null)
            phoneIndexes.Add(Convert.ToBase64String(index));
    }

    public void Identity(IdentityKey identity) => identities.Add(identity);

    /// <summary>Only the member's snapshot changed (points, tier), not how it is looked up.</summary>
    public void Snapshot(string memberId) => members.TryAdd(memberId, 0);

    /// <summary>The member, its phone and identities as they are now (call before and after a change to cover both).</summary>
    public void Member(MemberRecord member)
    {
        members.TryAdd(member.Id, 0);
        Phone(member.PhoneIndex);
        foreach (var identity in member.Identities)
            identities.Add(new IdentityKey(identity.Channel, identity.ExternalId));
    }

    /// <summary>Reads the final snapshot versions of the members: call last, inside the transaction, after the changes.</summary>
    public async Task SealAsync(IdentityDbContext db, CancellationToken ct)
    {
        foreach (var id in members.Keys.ToList())
            members[id] = await SnapshotVersionAsync(db, id, ct);
    }

    /// <summary>A snapshot's version: the member's plus its loyalty account's. Both only grow, so the sum does.</summary>
    public static async Task<long> SnapshotVersionAsync(IdentityDbContext db, string memberId, CancellationToken ct)
    {
        var member = db.Members.Local.FirstOrDefault(m => m.Id == memberId)?.Version
                     ?? await db.Members.Where(m => m.Id == memberId).Select(m => (long?)m.Version).FirstOrDefaultAsync(ct) ?? 0;
        var account = db.LoyaltyAccounts.Local.FirstOrDefault(a => a.MemberId == memberId)?.Version
                      ?? await db.LoyaltyAccounts.Where(a => a.MemberId == memberId).Select(a => (long?)a.Version).FirstOrDefaultAsync(ct) ?? 0;
        return member + account;
    }
}

/// <summary>Runs a write transaction that records what it touched, then invalidates the caches after the commit.</summary>
public sealed class CachedWrites(IdentityStore store, MemberCache cache)
{
    public async Task<T> WriteAsync<T>(Func<IdentityDbContext, CacheChange, CancellationToken, Task<T>> write, CancellationToken cancellationToken)
    {
        var change = new CacheChange();
        var result = await store.WriteAsync(async (db, ct) =>
        {
            var value = await write(db, change, ct);
            await change.SealAsync(db, ct);
            return value;
        }, cancellationToken);
        // The caller reads its own write: every level drops the old copies before the call returns.
        await cache.InvalidateAsync(change);
        return result;
    }
}
