namespace Identity.Service.Storage;

/// <summary>
/// A cache key a committed write changed, written in the same transaction as the change. Every instance reads new
/// rows to drop its in-process copies; any instance that reaches Redis applies unapplied rows there (drops the key,
/// announces the version, tells every instance). Applied rows are deleted after a retention period.
/// </summary>
public sealed class CacheOutboxRecord
{
    public long Id { get; init; }

    /// <summary>
    /// The cache key name (<c>m:</c>, <c>p:</c> or <c>i:</c> and a keyed hash: no identifier in clear), or for a bulk
    /// write several keys packed in one row (<see cref="Caching.OutboxKeys"/>).
    /// </summary>
    public required string Key { get; init; }

    /// <summary>For a snapshot key, the member's snapshot version after the write; 0 for lookups and packed rows.</summary>
    public long Version { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>True once Redis has dropped the key and the invalidation was published.</summary>
    public bool Applied { get; set; }
}
