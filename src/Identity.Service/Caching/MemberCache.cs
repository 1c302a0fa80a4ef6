using System.Collections.Concurrent;
using System.Text;
using Google.Protobuf;
using Identity.Service.Telemetry;
using Identity.V1;
using Microsoft.Extensions.Options;

namespace Identity.Service.Caching;

/// <summary>
/// The hot read path: phone / identity / id → member snapshot, through L1 (in process) → L2 (Redis) → the store. A miss
/// for one key is loaded once however many callers wait, but never handed to a caller that arrived after an
/// invalidation of the key. Unknown keys are remembered briefly. A cached lookup is checked against the snapshot it
/// leads to, so a stale lookup heals itself. Whatever Redis returns is checked: anything but a value sealed for its key
/// reads as a miss, and is dropped and reloaded.
/// </summary>
public sealed class MemberCache(L1Cache l1, RedisCache l2, InvalidationOutbox outbox, CacheKeys keys, SnapshotLoader loader,
    CacheMetrics metrics, IOptions<CacheOptions> options)
{
    static readonly object NotFound = new();

    // A lookup value in Redis: the snapshot key's token (so one script can fetch both), then the sealed member id. A
    // remembered "not found" has this token instead (never a real one) and seals the empty string.
    static readonly string NotFoundToken = new('~', CacheKeys.TokenLength);

    readonly CacheOptions settings = options.Value;
    readonly ConcurrentDictionary<string, Flight> inflight = new(StringComparer.Ordinal);

    sealed record Flight(Lazy<Task<MemberSnapshot?>> Load, long StartedAt);

    public Task<MemberSnapshot?> ByPhoneAsync(byte[] phoneIndex, CancellationToken ct) =>
        ByLookupAsync(keys.Phone(phoneIndex), s => s.PhoneIndex.Span.SequenceEqual(phoneIndex), () => loader.ByPhoneAsync(phoneIndex), ct);

    public Task<MemberSnapshot?> ByIdentityAsync(Members.IdentityKey identity, CancellationToken ct) =>
        ByLookupAsync(keys.Identity(identity),
            s => s.Member.ChannelIdentities.Any(i => (int)i.Channel == identity.Channel && i.ExternalId == identity.ExternalId),
            () => loader.ByIdentityAsync(identity), ct);

    /// <summary>The member id a phone lookup leads to in the cache's lookup entries (L1, then Redis); null when neither knows it.</summary>
    public Task<string?> MemberIdByPhoneAsync(byte[] phoneIndex) => LookupTargetAsync(keys.Phone(phoneIndex));

    /// <summary>The member id an identity lookup leads to in the cache's lookup entries; null when neither level knows it.</summary>
    public Task<string?> MemberIdByIdentityAsync(Members.IdentityKey identity) => LookupTargetAsync(keys.Identity(identity));

    async Task<string?> LookupTargetAsync(string key) => settings.Enabled && (await LookupAsync(key)).Target is string id ? id : null;

    /// <summary>By member id. A merged id is answered from the store (rare) with the survivor and the id it came from.</summary>
    public async Task<(MemberSnapshot? Snapshot, string? RedirectedFrom)> ByIdAsync(string memberId, CancellationToken ct)
    {
        if (!settings.Enabled)
        {
            metrics.StoreLoaded();
            using var span = IdentityActivities.Cache.StartActivity(IdentityActivities.StoreLoad);
            return await loader.ByIdAsync(memberId);
        }
        var cached = await SnapshotAsync(memberId, ct);
        if (cached is not null)
            return (cached, null);
        var loadedAt = l1.Sequence;
        var (snapshot, redirectedFrom) = await loader.ByIdAsync(memberId).WaitAsync(ct);
        if (snapshot is not null && redirectedFrom is null)
            await StoreAsync(snapshot, loadedAt);
        return (snapshot, redirectedFrom);
    }

    /// <summary>
    /// After a committed write: drop the keys here at once (the caller reads its own write), then in Redis and on every
    /// instance. If Redis cannot take it now, the keys stay pending here (reads skip Redis for them) until the outbox
    /// has applied them. An erasure is acknowledged only once no instance can still serve the member.
    /// </summary>
    public async Task InvalidateAsync(CacheChange change)
    {
        if (change.IsEmpty)
            return;
        var committedAt = outbox.Committed(change);
        foreach (var key in change.Keys.Keys)
        {
            if (change.FreshSnapshots.TryGetValue(key, out var fresh))
                l1.Replace(key, fresh, change.StartedAt);
            else
                l1.Invalidate(key);
        }
        if (settings.Enabled && await l2.InvalidateAsync(change.Keys.ToList()))
        {
            outbox.AppliedAtCommit(change, committedAt);
            // Redis keeps a fresh snapshot only at a version no write has passed (the same rule as for a loaded one).
            foreach (var (key, fresh) in change.FreshSnapshots)
                await SetInRedisAsync(key, fresh);
        }
        if (change.ErasesMember)
            await Task.Delay(settings.InvalidationBoundMilliseconds + 20);
    }

    /// <summary>The L1 sequence now: a write records it when it begins (<see cref="CacheChange.StartedAt"/>).</summary>
    public long Sequence => l1.Sequence;

    /// <summary>The member's snapshot if this instance holds it in L1 now (no Redis, no store, not counted as a read).</summary>
    public MemberSnapshot? Held(string memberId) =>
        settings.Enabled && l1.TryGet<MemberSnapshot>(keys.Member(memberId), out var held) ? held : null;

    async Task<MemberSnapshot?> ByLookupAsync(string key, Func<MemberSnapshot, bool> matches, Func<Task<MemberSnapshot?>> load, CancellationToken ct)
    {
        if (!settings.Enabled)
        {
            metrics.StoreLoaded();
            using var span = IdentityActivities.Cache.StartActivity(IdentityActivities.StoreLoad);
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
        var (found, startedAt) = await SingleFlight(key, async loadedAt =>
        {
            // A caller that missed L1 just before another load filled it and ended starts this one: L1 answers it now.
            if (l1.TryGet<string>(key, out var knownId) && l1.TryGet<MemberSnapshot>(keys.Member(knownId!), out var known) && matches(known!))
                return known;
            metrics.StoreLoaded();
            using var span = IdentityActivities.Cache.StartActivity(IdentityActivities.StoreLoad);
            var loaded = await load();
            span.Result(loaded is null ? "not_found" : "found");
            var ttl = TimeSpan.FromSeconds(settings.NegativeTtlSeconds);
            if (loaded is null)
            {
                l1.Set(key, NotFound, loadedAt, ttl);
                await l2.SetAsync(key, LookupValue(key, NotFoundToken, ""), ttl);
                // An enrolment that committed while we looked must not stay hidden behind our "not found".
                if (l1.InvalidatedSince(key, loadedAt))
                    await l2.DeleteAsync(key);
                return null;
            }
            await StoreAsync(loaded, loadedAt);
            var id = loaded.Member.MemberId;
            l1.Set(key, id, loadedAt);
            await l2.SetAsync(key, LookupValue(key, keys.Member(id)[2..], id), TimeSpan.FromSeconds(settings.L2TtlSeconds));
            return loaded;
        }, ct);
        // A shared load that began before the member was last invalidated may hold its old snapshot.
        if (found is not null && l1.InvalidatedSince(keys.Member(found.Member.MemberId), startedAt))
            return await SnapshotAsync(found.Member.MemberId, ct) is { } current && matches(current) ? current : await ByLookupAsync(key, matches, load, ct);
        return found;
    }

    byte[] LookupValue(string key, string token, string memberId)
    {
        var sealedId = keys.Seal(key, Encoding.UTF8.GetBytes(memberId));
        var value = new byte[token.Length + sealedId.Length];
        Encoding.ASCII.GetBytes(token, value);
        sealedId.CopyTo(value, token.Length);
        return value;
    }

    /// <summary>
    /// Where a lookup key points: a member id, <see cref="NotFound"/>, or null when no level knows. From Redis, the
    /// snapshot comes along in the same round trip when it is cached there.
    /// </summary>
    async Task<(object? Target, MemberSnapshot? Snapshot)> LookupAsync(string key)
    {
        if (l1.TryGet<object>(key, out var local))
        {
            metrics.L1Hit();
            return (local, null);
        }
        if (l1.Enabled)
            metrics.L1Miss();
        // The sequence first, then the pending check: a write marks its keys pending before it invalidates L1, so a
        // read that starts after the invalidation either sees them pending or stores nothing older than it.
        var loadedAt = l1.Sequence;
        if (outbox.IsPending(key))
            return (null, null);
        using var span = l2.IsConfigured ? IdentityActivities.Cache.StartActivity(IdentityActivities.L2Read) : null;
        var (value, snapshotBytes) = await l2.GetLookupAsync(key);
        if (value is null || !TryReadLookup(key, value, out var id))
        {
            if (l2.IsConfigured)
                metrics.L2Miss();
            span.Result("miss");
            if (value is not null)
                await l2.DropJunkAsync(key);
            return (null, null);
        }
        metrics.L2Hit();
        span.Result("hit");
        if (id.Length == 0)
        {
            l1.Set(key, NotFound, loadedAt, TimeSpan.FromSeconds(settings.NegativeTtlSeconds));
            return (NotFound, null);
        }
        l1.Set(key, id, loadedAt);
        var memberKey = keys.Member(id);
        if (snapshotBytes is null || outbox.IsPending(memberKey))
            return (id, null);
        if (await OpenSnapshotAsync(memberKey, snapshotBytes) is not { } snapshot)
            return (id, null);
        l1.Set(memberKey, snapshot, loadedAt);
        return (id, snapshot);
    }

    bool TryReadLookup(string key, byte[] value, out string memberId)
    {
        memberId = "";
        if (value.Length <= CacheKeys.TokenLength || !keys.TryOpen(key, value.AsSpan(CacheKeys.TokenLength), out var plaintext))
            return false;
        var token = Encoding.ASCII.GetString(value, 0, CacheKeys.TokenLength);
        memberId = Encoding.UTF8.GetString(plaintext);
        // The token must be the one for the id (or the "not found" token with no id): anything else is not ours.
        return memberId.Length == 0 ? token == NotFoundToken : token == keys.Member(memberId)[2..];
    }

    /// <summary>A snapshot read from Redis, or null (dropped and counted) when it is not one sealed for this key.</summary>
    async Task<MemberSnapshot?> OpenSnapshotAsync(string key, byte[] bytes)
    {
        if (keys.TryOpen(key, bytes, out var plaintext))
        {
            try
            {
                var snapshot = MemberSnapshot.Parser.ParseFrom(plaintext);
                if (snapshot.Member is not null && keys.Member(snapshot.Member.MemberId) == key)
                    return snapshot;
            }
            catch (InvalidProtocolBufferException)
            {
            }
        }
        await l2.DropJunkAsync(key);
        return null;
    }

    async Task<MemberSnapshot?> SnapshotAsync(string memberId, CancellationToken ct)
    {
        var key = keys.Member(memberId);
        if (l1.TryGet<MemberSnapshot>(key, out var local))
        {
            metrics.L1Hit();
            return local;
        }
        if (l1.Enabled)
            metrics.L1Miss();
        var loadedAt = l1.Sequence; // before the pending check, as in LookupAsync
        if (!outbox.IsPending(key))
        {
            using var span = l2.IsConfigured ? IdentityActivities.Cache.StartActivity(IdentityActivities.L2Read) : null;
            if (await l2.GetSnapshotAsync(key) is { } bytes && await OpenSnapshotAsync(key, bytes) is { } parsed)
            {
                metrics.L2Hit();
                span.Result("hit");
                l1.Set(key, parsed, loadedAt);
                return parsed;
            }
            if (l2.IsConfigured)
                metrics.L2Miss();
            span.Result("miss");
        }
        var (snapshot, _) = await SingleFlight(key, async loadedAt =>
        {
            if (l1.TryGet<MemberSnapshot>(key, out var known)) // filled by a load that ended after this caller missed L1
                return known;
            metrics.StoreLoaded();
            using var span = IdentityActivities.Cache.StartActivity(IdentityActivities.StoreLoad);
            var (loaded, redirectedFrom) = await loader.ByIdAsync(memberId);
            span.Result(loaded is null || redirectedFrom is not null ? "not_found" : "found");
            if (loaded is null || redirectedFrom is not null)
                return null;
            await StoreAsync(loaded, loadedAt);
            return loaded;
        }, ct);
        return snapshot;
    }

    async Task StoreAsync(MemberSnapshot snapshot, long loadedAt)
    {
        var key = keys.Member(snapshot.Member.MemberId);
        l1.Set(key, snapshot, loadedAt);
        await SetInRedisAsync(key, snapshot);
    }

    /// <summary>Sealed for its key, at its version: Redis refuses it if a newer version was announced.</summary>
    Task SetInRedisAsync(string key, MemberSnapshot snapshot) =>
        l2.SetSnapshotAsync(key, keys.Seal(key, snapshot.ToByteArray()), SnapshotLoader.Version(snapshot));

    /// <summary>
    /// One load per key at a time; callers give up on their own deadline without cancelling the shared load. A caller
    /// joins a load only if the key was not invalidated after it began: a reader that saw a write committed never gets
    /// the result of a load that may have read the store before it.
    /// </summary>
    async Task<(MemberSnapshot? Snapshot, long StartedAt)> SingleFlight(string key, Func<long, Task<MemberSnapshot?>> load, CancellationToken ct)
    {
        while (true)
        {
            var flight = inflight.GetOrAdd(key, static (_, state) => state.self.NewFlight(state.key, state.load), (self: this, key, load));
            if (l1.InvalidatedSince(key, flight.StartedAt))
            {
                // Too old for this caller: start a fresh load in its place (others already waiting keep theirs).
                var fresh = NewFlight(key, load);
                if (!inflight.TryUpdate(key, fresh, flight))
                    continue;
                flight = fresh;
            }
            return (await flight.Load.Value.WaitAsync(ct), flight.StartedAt);
        }
    }

    Flight NewFlight(string key, Func<long, Task<MemberSnapshot?>> load)
    {
        Flight? flight = null;
        var startedAt = l1.Sequence;
        flight = new Flight(new Lazy<Task<MemberSnapshot?>>(async () =>
        {
            try
            {
                return await load(startedAt);
            }
            finally
            {
                inflight.TryRemove(KeyValuePair.Create(key, flight!));
            }
        }), startedAt);
        return flight;
    }
}
