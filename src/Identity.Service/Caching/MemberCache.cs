using System.Collections.Concurrent;
using Identity.Service.Members;
using Identity.V1;
using Microsoft.Extensions.Options;

namespace Identity.Service.Caching;

/// <summary>
/// The hot read path: phone / identity / id → member snapshot, through L1 (in process) → L2 (Redis) → the store. A miss
/// for one key is loaded once however many callers wait. Unknown keys are remembered briefly. A cached lookup is checked
/// against the snapshot it leads to, so a stale lookup heals itself instead of answering with the wrong member.
/// </summary>
public sealed class MemberCache(L1Cache l1, RedisCache l2, SnapshotLoader loader, CacheCounters counters, IOptions<CacheOptions> options)
{
    static readonly object NotFound = new();
    readonly CacheOptions settings = options.Value;
    readonly ConcurrentDictionary<string, Lazy<Task<MemberSnapshot?>>> inflight = new();

    string Prefix => l2.KeyPrefix;

    string MemberKey(string memberId) => $"{Prefix}m:{memberId}";

    string VersionKey(string memberId) => $"{Prefix}mv:{memberId}";

    string PhoneKey(byte[] index) => $"{Prefix}p:{Convert.ToBase64String(index)}";

    string IdentityKey(Members.IdentityKey identity) => $"{Prefix}i:{identity.Channel}:{identity.ExternalId}";

    public Task<MemberSnapshot?> ByPhoneAsync(byte[] phoneIndex, CancellationToken ct) =>
        ByLookupAsync(PhoneKey(phoneIndex), s => s.PhoneIndex.Span.SequenceEqual(phoneIndex), () => loader.ByPhoneAsync(phoneIndex), ct);

    public Task<MemberSnapshot?> ByIdentityAsync(Members.IdentityKey identity, CancellationToken ct) =>
        ByLookupAsync(IdentityKey(identity),
            s => s.Member.ChannelIdentities.Any(i => (int)i.Channel == identity.Channel && i.ExternalId == identity.ExternalId),
            () => loader.ByIdentityAsync(identity), ct);

    /// <summary>By member id. A merged id is answered from the store (rare) with the survivor and the id it came from.</summary>
    public async Task<(MemberSnapshot? Snapshot, string? RedirectedFrom)> ByIdAsync(string memberId, CancellationToken ct)
    {
        if (!settings.Enabled)
            return await loader.ByIdAsync(memberId);
        var cached = await SnapshotAsync(memberId, ct);
        if (cached is not null)
            return (cached, null);
        var (snapshot, redirectedFrom) = await loader.ByIdAsync(memberId).WaitAsync(ct);
        if (snapshot is not null && redirectedFrom is null)
            await StoreAsync(snapshot, l1.Sequence);
        return (snapshot, redirectedFrom);
    }

    /// <summary>After a committed write: drop every level's copies here, and everywhere else through Redis.</summary>
    public async Task InvalidateAsync(CacheChange change)
    {
        if (change.IsEmpty || !settings.Enabled)
            return;
        var snapshots = change.Members.Select(m => (MemberKey(m.Key), VersionKey(m.Key), m.Value)).ToList();
        var keys = change.PhoneIndexes.Select(PhoneKey).Concat(change.Identities.Select(IdentityKey)).ToList();
        foreach (var (key, _, _) in snapshots)
            l1.Invalidate(key);
        foreach (var key in keys)
            l1.Invalidate(key);
        await l2.InvalidateAsync(snapshots, keys);
    }

    async Task<MemberSnapshot?> ByLookupAsync(string key, Func<MemberSnapshot, bool> matches, Func<Task<MemberSnapshot?>> load, CancellationToken ct)
    {
        if (!settings.Enabled)
        {
            counters.StoreLoaded();
            return await load();
        }

        var (target, fromRedis) = await LookupAsync(key);
        if (ReferenceEquals(target, NotFound))
            return null;
        if (target is string memberId && (fromRedis ?? await SnapshotAsync(memberId, ct)) is { } snapshot)
        {
            if (matches(snapshot))
                return snapshot;
            l1.Invalidate(key); // the lookup is stale: the member no longer has this key
        }
        return await SingleFlight(key, async () =>
        {
            var loadedAt = l1.Sequence;
            counters.StoreLoaded();
            var loaded = await load();
            var ttl = TimeSpan.FromSeconds(settings.NegativeTtlSeconds);
            if (loaded is null)
            {
                l1.Set(key, NotFound, loadedAt, ttl);
                await l2.SetAsync(key, [], ttl);
                // An enrolment that committed while we looked must not stay hidden behind our "not found".
                if (l1.InvalidatedSince(key, loadedAt))
                    await l2.DeleteAsync(key);
                return null;
            }
            await StoreAsync(loaded, loadedAt);
            l1.Set(key, loaded.Member.MemberId, loadedAt);
            await l2.SetAsync(key, System.Text.Encoding.UTF8.GetBytes(loaded.Member.MemberId), TimeSpan.FromSeconds(settings.L2TtlSeconds));
            return loaded;
        }, ct);
    }

    /// <summary>
    /// Where a lookup key points: a member id, <see cref="NotFound"/>, or null when no level knows. From Redis, the
    /// snapshot comes along in the same round trip when it is cached there.
    /// </summary>
    async Task<(object? Target, MemberSnapshot? Snapshot)> LookupAsync(string key)
    {
        if (l1.TryGet<object>(key, out var local))
        {
            counters.L1Hit();
            return (local, null);
        }
        var loadedAt = l1.Sequence;
        var (id, bytes) = await l2.GetLookupAsync(key, $"{Prefix}m:");
        if (id is null)
            return (null, null);
        counters.L2Hit();
        if (id.Length == 0)
        {
            l1.Set(key, NotFound, loadedAt, TimeSpan.FromSeconds(settings.NegativeTtlSeconds));
            return (NotFound, null);
        }
        l1.Set(key, id, loadedAt);
        if (bytes is not { Length: > 0 })
            return (id, null);
        var snapshot = MemberSnapshot.Parser.ParseFrom(bytes);
        l1.Set(MemberKey(id), snapshot, loadedAt);
        return (id, snapshot);
    }

    async Task<MemberSnapshot?> SnapshotAsync(string memberId, CancellationToken ct)
    {
        var key = MemberKey(memberId);
        if (l1.TryGet<MemberSnapshot>(key, out var local))
        {
            counters.L1Hit();
            return local;
        }
        var loadedAt = l1.Sequence;
        if (await l2.GetAsync(key) is { Length: > 0 } bytes)
        {
            counters.L2Hit();
            var parsed = MemberSnapshot.Parser.ParseFrom(bytes);
            l1.Set(key, parsed, loadedAt);
            return parsed;
        }
        return await SingleFlight(key, async () =>
        {
            var at = l1.Sequence;
            counters.StoreLoaded();
            var (snapshot, redirectedFrom) = await loader.ByIdAsync(memberId);
            if (snapshot is null || redirectedFrom is not null)
                return null;
            await StoreAsync(snapshot, at);
            return snapshot;
        }, ct);
    }

    async Task StoreAsync(MemberSnapshot snapshot, long loadedAt)
    {
        var id = snapshot.Member.MemberId;
        l1.Set(MemberKey(id), snapshot, loadedAt);
        await l2.SetSnapshotAsync(MemberKey(id), VersionKey(id), Google.Protobuf.MessageExtensions.ToByteArray(snapshot), SnapshotLoader.Version(snapshot));
    }

    /// <summary>One load per key at a time; callers give up on their own deadline without cancelling the shared load.</summary>
    Task<MemberSnapshot?> SingleFlight(string key, Func<Task<MemberSnapshot?>> load, CancellationToken ct)
    {
        var flight = inflight.GetOrAdd(key, static (k, state) => new Lazy<Task<MemberSnapshot?>>(async () =>
        {
            try
            {
                return await state.load();
            }
            finally
            {
                state.self.inflight.TryRemove(k, out _);
            }
        }), (load, self: this));
        return flight.Value.WaitAsync(ct);
    }
}
