namespace Identity.Service.Caching;

/// <summary>The <c>Identity:Cache</c> section: the two cache levels in front of the store.</summary>
public sealed class CacheOptions
{
    public const string Section = "Identity:Cache";

    /// <summary>Master switch: false sends every read to the store (the "cold" benchmark).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The in-process level. Off leaves Redis (when configured) as the only cache.</summary>
    public bool L1Enabled { get; set; } = true;

    /// <summary>
    /// How long an L1 entry lives. Writes drop entries at once here, through Redis on every instance, and through the
    /// outbox within <see cref="InvalidationBoundMilliseconds"/>, so the lifetime only limits memory.
    /// </summary>
    public int L1TtlSeconds { get; set; } = 300;

    /// <summary>
    /// The longest a write committed through one instance can go unseen on another, whatever Redis does (paused,
    /// slow, killed, unreachable). Every instance reads the outbox several times within this bound; an instance that
    /// could not read it within the bound serves nothing from L1. Erasures are acknowledged only after this long.
    /// </summary>
    public int InvalidationBoundMilliseconds { get; set; } = 1000;

    /// <summary>How often each instance reads the outbox (new changes, and changes Redis has not yet applied).</summary>
    public int OutboxPollMilliseconds { get; set; } = 200;

    /// <summary>How long applied outbox rows are kept (for instances that read them late) before they are deleted.</summary>
    public int OutboxRetentionSeconds { get; set; } = 60;

    /// <summary>Values read from Redis larger than this are junk: dropped, counted and reloaded.</summary>
    public int MaxValueBytes { get; set; } = 256 * 1024;

    /// <summary>At most this many L1 entries (snapshots and lookups).</summary>
    public int L1MaxEntries { get; set; } = 200_000;

    /// <summary>How long Redis keeps a snapshot or a lookup.</summary>
    public int L2TtlSeconds { get; set; } = 3600;

    /// <summary>How long "no member has this phone" is remembered (enrolling the phone drops it at once).</summary>
    public int NegativeTtlSeconds { get; set; } = 30;
}

/// <summary>The <c>Redis</c> section. With no <see cref="Configuration"/> the service runs with the in-process cache only.</summary>
public sealed class RedisOptions
{
    public const string Section = "Redis";

    /// <summary>A StackExchange.Redis configuration string, e.g. <c>127.0.0.1:6379</c>.</summary>
    public string? Configuration { get; set; }

    /// <summary>Versioned key prefix: bump it when the snapshot format changes incompatibly.</summary>
    public string KeyPrefix { get; set; } = "identity:v2:";

    /// <summary>Per-operation timeout. Redis is only a cache: a slow answer is treated as a miss.</summary>
    public int OperationTimeoutMilliseconds { get; set; } = 150;

    public int ConnectTimeoutMilliseconds { get; set; } = 1000;

    /// <summary>Consecutive failures that open the breaker (Redis is then skipped).</summary>
    public int BreakerFailures { get; set; } = 3;

    /// <summary>How long the open breaker skips Redis before trying again.</summary>
    public int BreakerOpenSeconds { get; set; } = 3;
}
