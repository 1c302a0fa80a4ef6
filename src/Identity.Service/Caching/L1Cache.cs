using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace Identity.Service.Caching;

/// <summary>
/// The in-process level: bounded by entry count, short-lived. An entry loaded before an invalidation of its key is not
/// stored (a load that raced a write must not put the old value back).
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

    public bool Enabled => options.Enabled && options.L1Enabled;

    /// <summary>Set while the invalidation bus is down: entries then live only briefly.</summary>
    public bool Degraded { get; set; }

    public long Sequence => Interlocked.Read(ref sequence);

    public bool TryGet<T>(string key, out T? value) where T : class
    {
        if (Enabled && entries.TryGetValue(key, out var found) && found is T typed)
        {
            value = typed;
            return true;
        }
        value = null;
        return false;
    }

    /// <summary>Stores a value loaded when <see cref="Sequence"/> was <paramref name="loadedAt"/>, unless its key was invalidated since.</summary>
    public void Set(string key, object value, long loadedAt, TimeSpan? ttl = null)
    {
        if (!Enabled)
            return;
        // A load that began before the last clear or the last invalidation of its key may hold the old value.
        if (loadedAt < Interlocked.Read(ref clearedAt)
            || (recentInvalidations.TryGetValue(key, out var invalidatedAt) && (long)invalidatedAt! > loadedAt))
            return;
        var lifetime = Degraded ? TimeSpan.FromSeconds(options.L1OutageTtlSeconds) : ttl ?? TimeSpan.FromSeconds(options.L1TtlSeconds);
        entries.Set(key, value, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = lifetime });
    }

    public void Invalidate(string key)
    {
        var at = Interlocked.Increment(ref sequence);
        // Remember the invalidation longer than any load can take, so a racing load cannot store the old value.
        recentInvalidations.Set(key, at, TimeSpan.FromSeconds(10));
        entries.Remove(key);
    }

    /// <summary>Drops everything: after Redis comes back, invalidations sent meanwhile may have been missed.</summary>
    public void Clear()
    {
        Interlocked.Exchange(ref clearedAt, Interlocked.Increment(ref sequence));
        entries.Clear();
    }

    public void Dispose()
    {
        entries.Dispose();
        recentInvalidations.Dispose();
    }
}
