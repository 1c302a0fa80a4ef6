using Identity.Service.Storage;

namespace Identity.Service.Caching;

/// <summary>
/// The cache keys a write changed, filled by <see cref="CacheChangeInterceptor"/> from the change tracker as the write
/// is saved (write code never lists them by hand): snapshot keys with the member's new snapshot version, lookup keys
/// (phones, identities) with 0. The same keys go to the outbox in the same transaction.
/// </summary>
public sealed class CacheChange
{
    // The write running on this async flow: set by CachedWrites around the store transaction.
    static readonly AsyncLocal<CacheChange?> current = new();

    readonly Dictionary<string, long> keys = [];
    readonly List<CacheOutboxRecord> rows = [];

    internal static CacheChange? Current
    {
        get => current.Value;
        set => current.Value = value;
    }

    public IReadOnlyDictionary<string, long> Keys => keys;

    /// <summary>True when the write erased a member: its acknowledgement waits until no instance can still serve it.</summary>
    public bool ErasesMember { get; private set; }

    public bool IsEmpty => keys.Count == 0;

    /// <summary>The outbox rows written for this change (their ids are known once saved).</summary>
    public IReadOnlyList<CacheOutboxRecord> Rows => rows;

    internal void Add(CacheOutboxRecord row)
    {
        rows.Add(row);
        keys[row.Key] = keys.TryGetValue(row.Key, out var version) ? Math.Max(version, row.Version) : row.Version;
    }

    internal void Erased() => ErasesMember = true;

    /// <summary>Forgets what an attempt that was rolled back saved (a PostgreSQL write run again from the start).</summary>
    internal void Reset()
    {
        keys.Clear();
        rows.Clear();
        ErasesMember = false;
    }
}
