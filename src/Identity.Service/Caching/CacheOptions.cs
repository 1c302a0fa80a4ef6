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
    /// How long an L1 entry lives. Writes drop entries at once (here, and through Redis on every instance); with no
    /// Redis configured, this bounds how long another instance's write can go unseen, so keep it short then.
    /// </summary>
    public int L1TtlSeconds { get; set; } = 300;

    /// <summary>
    /// How long an L1 entry lives while Redis is unreachable. No invalidation from other instances can arrive then, so
    /// this bounds how long a write made elsewhere can go unseen here.
    /// </summary>
    public int L1OutageTtlSeconds { get; set; } = 10;

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
    public string KeyPrefix { get; set; } = "identity:v1:";

    /// <summary>Per-operation timeout. Redis is only a cache: a slow answer is treated as a miss.</summary>
    public int OperationTimeoutMilliseconds { get; set; } = 150;

    public int ConnectTimeoutMilliseconds { get; set; } = 1000;

    /// <summary>Consecutive failures that open the breaker (Redis is then skipped).</summary>
    public int BreakerFailures { get; set; } = 3;

    /// <summary>How long the open breaker skips Redis before trying again.</summary>
    public int BreakerOpenSeconds { get; set; } = 3;
}
