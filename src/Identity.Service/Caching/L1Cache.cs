using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace Identity.Service.Caching;

/// <summary>
/// The in-process level: bounded by entry count; entries are dropped by invalidations and expire after a lifetime that
/// bounds staleness only when an invalidation could have been missed. An entry loaded before an invalidation of its key
/// is not stored (a load that raced a write must not put the old value back).
/// </summary>
public sealed class L1Cache : IDisposable
{
    readonly MemoryCache entries;
    readonly MemoryCache recentInvalidations = new(new MemoryCacheOptions());
    readonly CacheOptions options;
    long sequence;
    long clearedAt;

    public L1Cache(IOptions<CacheOptions> options)
    {
        this.options = options.Value;
        entries = new MemoryCache(new MemoryCacheOptions { SizeLimit = Math.Max(1, this.options.L1MaxEntries), CompactionPercentage = 0.1 });
    }

    volatile bool disposed;

    public bool Enabled => options.Enabled && options.L1Enabled && !disposed;

    // When the invalidation bus went down (Environment.TickCount64), 0 while it is up.
    long outageSince;

    /// <summary>
    /// Set while the invalidation bus is down. No entry is then served for longer than <c>L1OutageTtlSeconds</c> past
    /// what it may have missed: entries stored during the outage live that long, and entries from before it stop
    /// being served that long after it began.
    /// </summary>
    public bool Degraded
    {
        get => Interlocked.Read(ref outageSince) != 0;
        set
        {
            if (value)
                Interlocked.CompareExchange(ref outageSince, Math.Max(1, Environment.TickCount64), 0);
            else
                Interlocked.Exchange(ref outageSince, 0);
        }
    }

    public long Sequence => Interlocked.Read(ref sequence);

    public bool TryGet<T>(string key, out T? value) where T : class
    {
        if (Enabled && entries.TryGetValue(key, out var found) && found is Entry { Value: T typed } entry)
        {
            var since = Interlocked.Read(ref outageSince);
            if (since == 0 || entry.StoredAt >= since || Environment.TickCount64 - since <= options.L1OutageTtlSeconds * 1000L)
            {
                value = typed;
                return true;
            }
            entries.Remove(key); // from before an outage that has lasted too long to trust it
        }
        value = null;
        return false;
    }

    sealed record Entry(object Value, long StoredAt);

    /// <summary>Stores a value loaded when <see cref="Sequence"/> was <paramref name="loadedAt"/>, unless its key was invalidated since.</summary>
    public void Set(string key, object value, long loadedAt, TimeSpan? ttl = null)
    {
        if (!Enabled)
            return;
        // A load that began before the last clear or the last invalidation of its key may hold the old value.
        if (InvalidatedSince(key, loadedAt))
            return;
        var lifetime = Degraded ? TimeSpan.FromSeconds(options.L1OutageTtlSeconds) : ttl ?? TimeSpan.FromSeconds(options.L1TtlSeconds);
        entries.Set(key, new Entry(value, Environment.TickCount64), new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = lifetime });
    }

    /// <summary>True when the key was invalidated (here or through Redis) after <paramref name="loadedAt"/>.</summary>
    public bool InvalidatedSince(string key, long loadedAt) =>
        loadedAt < Interlocked.Read(ref clearedAt)
        || (recentInvalidations.TryGetValue(key, out var invalidatedAt) && (long)invalidatedAt! > loadedAt);

    public void Invalidate(string key)
    {
        if (disposed)
            return;
        var at = Interlocked.Increment(ref sequence);
        // Remember the invalidation longer than any load can take, so a racing load cannot store the old value.
        recentInvalidations.Set(key, at, TimeSpan.FromSeconds(10));
        entries.Remove(key);
    }

    /// <summary>Drops everything: after Redis comes back, invalidations sent meanwhile may have been missed.</summary>
    public void Clear()
    {
        if (disposed)
            return;
        Interlocked.Exchange(ref clearedAt, Interlocked.Increment(ref sequence));
        entries.Clear();
    }

    public void Dispose()
    {
        disposed = true;
        entries.Dispose();
        recentInvalidations.Dispose();
    }
}
