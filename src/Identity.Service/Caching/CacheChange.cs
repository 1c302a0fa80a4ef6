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
    readonly Dictionary<string, V1.MemberSnapshot> fresh = new(StringComparer.Ordinal);

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
        foreach (var (key, version) in OutboxKeys.Unpack(row.Key, row.Version))
            keys[key] = keys.TryGetValue(key, out var known) ? Math.Max(known, version) : version;
    }

    internal void Erased() => ErasesMember = true;

    /// <summary>For an idempotent write: its reply, which the use case may keep itself with its own rows.</summary>
    public KeptReply? Reply { get; internal set; }

    /// <summary>
    /// The L1 sequence when the write began (set by <see cref="CachedWrites"/>): a fresh snapshot the write made is kept
    /// only if nothing invalidated its key since, so it can never replace what a later write changed.
    /// </summary>
    public long StartedAt { get; internal set; }

    /// <summary>
    /// Snapshots the write built itself, exactly as the store would load them after its commit (key → snapshot at the
    /// key's version in <see cref="Keys"/>). The cache stores them in place of the old ones instead of only dropping them,
    /// so the next reader of a member who just ordered does not reload the member from the store.
    /// </summary>
    public IReadOnlyDictionary<string, V1.MemberSnapshot> FreshSnapshots => fresh;

    internal void Fresh(string key, V1.MemberSnapshot snapshot)
    {
        if (!keys.ContainsKey(key))
            throw new InvalidOperationException("A fresh snapshot is kept only for a key the write changed.");
        fresh[key] = snapshot;
    }

    /// <summary>Forgets what a write recorded when its work was rolled back (its outbox rows were never kept).</summary>
    internal void Discard()
    {
        keys.Clear();
        rows.Clear();
        fresh.Clear();
        ErasesMember = false;
        Reply = null;
    }
}
