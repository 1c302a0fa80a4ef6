using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Options;

namespace Identity.Service.Caching;

/// <summary>
/// The in-process level: bounded by entry count; entries are dropped by invalidations (through Redis at once, through
/// the outbox within <c>InvalidationBoundMilliseconds</c>). An entry is served only while this instance has read the
/// outbox recently enough, so a write made anywhere is never unseen here for longer than that bound. An entry loaded
/// before an invalidation of its key is not stored (a load that raced a write must not put the old value back).
/// </summary>
public sealed class L1Cache : IDisposable
{
    readonly MemoryCache entries;
    readonly object[] stripes = [.. Enumerable.Range(0, 64).Select(_ => new object())];

    // The sequence of the latest invalidation per slot of keys (by hash). A fixed table, not an entry per key: a bulk
    // write (an import drops two or three lookup keys per row) cannot grow it. Keys that share a slot count as
    // invalidated together, which at worst skips storing a load or repeats one.
    const int InvalidationSlots = 1 << 16;
    readonly long[] invalidations = new long[InvalidationSlots];
    readonly CacheOptions options;
    long sequence;
    long clearedAt;

    // When the last outbox read that completed began (Environment.TickCount64); 0 before the first.
    long syncedAt;

    public L1Cache(IOptions<CacheOptions> options)
    {
        this.options = options.Value;
        entries = new MemoryCache(new MemoryCacheOptions { SizeLimit = Math.Max(1, this.options.L1MaxEntries), CompactionPercentage = 0.1 });
    }

    volatile bool disposed;

    public bool Enabled => options.Enabled && options.L1Enabled && !disposed;

    public long Sequence => Interlocked.Read(ref sequence);

    /// <summary>
    /// True while every write committed more than <c>InvalidationBoundMilliseconds</c> ago has reached this instance
    /// (the last outbox read began within the bound). Otherwise L1 answers nothing.
    /// </summary>
    public bool InSync => Environment.TickCount64 - Interlocked.Read(ref syncedAt) <= options.InvalidationBoundMilliseconds;

    /// <summary>An outbox read that began at <paramref name="startedAt"/> has been applied.</summary>
    public void Synced(long startedAt)
    {
        var previous = Interlocked.Exchange(ref syncedAt, startedAt);
        // After a gap longer than the bound, rows read meanwhile may have been deleted: nothing kept is trusted.
        if (previous != 0 && startedAt - previous > options.InvalidationBoundMilliseconds)
            Clear();
    }

    public bool TryGet<T>(string key, out T? value) where T : class
    {
        if (Enabled && InSync && entries.TryGetValue(key, out var found) && found is T typed)
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
        // A load that began before the last clear or the last invalidation of its key may hold the old value. The check
        // and the store happen under the key's stripe lock, which Invalidate also takes: an invalidation is either seen
        // here, or comes after the store and removes it. Otherwise a reader could find the old value after its own write.
        lock (Stripe(key))
        {
            if (InvalidatedSince(key, loadedAt))
                return;
            Store(key, value, loadedAt, ttl);
        }
    }

    // Under the key's stripe lock. Clear takes no stripe lock (it is rare): a clear that raced this store is caught here.
    void Store(string key, object value, long loadedAt, TimeSpan? ttl)
    {
        entries.Set(key, value, new MemoryCacheEntryOptions { Size = 1, AbsoluteExpirationRelativeToNow = ttl ?? TimeSpan.FromSeconds(options.L1TtlSeconds) });
        if (loadedAt < Interlocked.Read(ref clearedAt))
            entries.Remove(key);
    }

    static int Slot(string key) => key.GetHashCode() & (InvalidationSlots - 1);

    // A slot always maps to the same stripe, so its sequence only grows (it is written under that lock).
    object Stripe(string key) => stripes[Slot(key) % stripes.Length];

    /// <summary>True when the key (or one sharing its slot) was invalidated, here, through Redis or through the outbox, after <paramref name="loadedAt"/>.</summary>
    public bool InvalidatedSince(string key, long loadedAt) =>
        loadedAt < Interlocked.Read(ref clearedAt) || Volatile.Read(ref invalidations[Slot(key)]) > loadedAt;

    public void Invalidate(string key)
    {
        if (disposed)
            return;
        lock (Stripe(key))
            Drop(key);
    }

    // Under the key's stripe lock. Remembered until a later invalidation of the slot, so a racing load, however long,
    // cannot store the old value.
    void Drop(string key)
    {
        Volatile.Write(ref invalidations[Slot(key)], Interlocked.Increment(ref sequence));
        entries.Remove(key);
    }

    /// <summary>
    /// Drops the key as <see cref="Invalidate"/> does and, when nothing invalidated it since <paramref name="since"/> (the
    /// start of the write that built <paramref name="value"/>), stores the value in its place. A write that committed later
    /// has either invalidated the key before this (the value is then not stored) or invalidates it after (removing it).
    /// </summary>
    public void Replace(string key, object value, long since)
    {
        if (disposed)
            return;
        lock (Stripe(key))
        {
            var current = !InvalidatedSince(key, since);
            Drop(key);
            if (current && Enabled)
                Store(key, value, since, ttl: null);
        }
    }

    /// <summary>Drops everything.</summary>
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
    }
}
