using System.Text;
using Identity.Service.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Identity.Service.Caching;

/// <summary>
/// The shared level and the invalidation bus. Redis is only a cache: every call has a short timeout, failures count
/// towards a breaker that skips Redis for a while, and any failure reads as a miss. Nothing here throws to a caller.
/// </summary>
public sealed class RedisCache : IAsyncDisposable
{
    // Sets a snapshot only if no newer version was announced: a load that raced a write cannot put the old value back.
    const string SetIfNewer = """
        local current = redis.call('GET', KEYS[2])
        if current and tonumber(current) > tonumber(ARGV[2]) then return 0 end
        redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
        redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
        return 1
        """;

    // Announces a member's new version and drops its snapshot.
    const string Bump = """
        local current = redis.call('GET', KEYS[2])
        if not current or tonumber(current) < tonumber(ARGV[1]) then redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2]) end
        redis.call('DEL', KEYS[1])
        return 1
        """;

    // A lookup and the snapshot it points to in one round trip (the id picks the second key, so MGET cannot).
    const string LookupWithSnapshot = """
        local id = redis.call('GET', KEYS[1])
        if not id then return nil end
        if id == '' then return {''} end
        return {id, redis.call('GET', ARGV[1] .. id)}
        """;

    readonly RedisOptions options;
    readonly CacheOptions cacheOptions;
    readonly L1Cache l1;
    readonly CacheCounters counters;
    readonly TimeProvider clock;
    readonly ILogger<RedisCache> logger;
    readonly RedisChannel channel;

    // Marks this instance's own messages: it has already applied them, and applying its own echo late would block
    // caching of values loaded in the meantime.
    readonly string instanceId = Guid.NewGuid().ToString("N");
    readonly Task<ConnectionMultiplexer?> connecting;
    int consecutiveFailures;
    long openUntilTicks;

    public RedisCache(IOptions<RedisOptions> options, IOptions<CacheOptions> cacheOptions, L1Cache l1, CacheCounters counters,
        TimeProvider clock, ILogger<RedisCache> logger)
    {
        this.options = options.Value;
        this.cacheOptions = cacheOptions.Value;
        this.l1 = l1;
        this.counters = counters;
        this.clock = clock;
        this.logger = logger;
        channel = RedisChannel.Literal(this.options.KeyPrefix + "invalidate");
        connecting = IsConfigured ? ConnectAsync() : Task.FromResult<ConnectionMultiplexer?>(null);
    }

    public bool IsConfigured => cacheOptions.Enabled && !string.IsNullOrWhiteSpace(options.Configuration);

    public string KeyPrefix => options.KeyPrefix;

    public bool IsConnected => connecting.IsCompletedSuccessfully && connecting.Result is { IsConnected: true };

    async Task<ConnectionMultiplexer?> ConnectAsync()
    {
        var configuration = ConfigurationOptions.Parse(options.Configuration!);
        configuration.AbortOnConnectFail = false;
        configuration.ConnectTimeout = options.ConnectTimeoutMilliseconds;
        configuration.SyncTimeout = options.OperationTimeoutMilliseconds;
        configuration.AsyncTimeout = options.OperationTimeoutMilliseconds;
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        configuration.ConnectRetry = 1;
        configuration.ReconnectRetryPolicy = new LinearRetry(500);
        var multiplexer = await ConnectionMultiplexer.ConnectAsync(configuration);
        multiplexer.ConnectionFailed += (_, e) => Safely(() =>
        {
            // From now on no invalidation can reach us: L1 stops trusting anything for longer than L1OutageTtlSeconds.
            l1.Degraded = true;
            Log.RedisDown(logger, e.FailureType.ToString());
        });
        multiplexer.ConnectionRestored += (_, _) => Safely(() =>
        {
            if (!subscribed)
                _ = SubscribeAsync(multiplexer);
            // Invalidations sent while we were away are lost: start L1 afresh (only after a real outage; a second
            // connection coming up at start has missed nothing).
            if (l1.Degraded)
                l1.Clear();
            l1.Degraded = false;
            Interlocked.Exchange(ref consecutiveFailures, 0);
            Log.RedisBack(logger);
        });
        if (!multiplexer.IsConnected)
            l1.Degraded = true;
        await SubscribeAsync(multiplexer);
        return multiplexer;
    }

    volatile bool subscribed;
    int subscribing;

    /// <summary>Subscribes to the invalidation channel; when Redis is down at start, this is retried when it comes back.</summary>
    async Task SubscribeAsync(ConnectionMultiplexer multiplexer)
    {
        try
        {
            await multiplexer.GetSubscriber().SubscribeAsync(channel, (_, message) => Safely(() => OnInvalidation(message)));
            subscribed = true;
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException)
        {
            // Not connected yet: ConnectionRestored tries again.
        }
    }

    /// <summary>
    /// Runs an event or message handler: they run on the client library's threads, where an exception (for instance
    /// one raised while the server shuts down) would end the process.
    /// </summary>
    static void Safely(Action handler)
    {
        try
        {
            handler();
        }
        catch (Exception exception) when (exception is ObjectDisposedException or InvalidOperationException)
        {
        }
    }

    /// <summary>Raised for announcements from other instances (e.g. a program version was published).</summary>
    public event Action<string>? Announced;

    /// <summary>Tells every instance something that is not a cache key, e.g. <c>program</c>. Best effort.</summary>
    public Task AnnounceAsync(string what) => TryAsync(db => db.PublishAsync(channel, AnnouncementPrefix + what));

    const string AnnouncementPrefix = "!";

    void OnInvalidation(RedisValue message)
    {
        var text = (string?)message ?? "";
        if (text.StartsWith(AnnouncementPrefix, StringComparison.Ordinal))
        {
            Announced?.Invoke(text[AnnouncementPrefix.Length..]);
            return;
        }
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        if (lines.Length == 0 || lines[0] == instanceId)
            return;
        counters.InvalidationsReceived();
        foreach (var key in lines.AsSpan(1))
            l1.Invalidate(key);
    }

    IDatabase? Database()
    {
        if (!IsConfigured || !connecting.IsCompletedSuccessfully || connecting.Result is not { } multiplexer)
            return null;
        if (clock.GetUtcNow().UtcTicks < Interlocked.Read(ref openUntilTicks))
            return null; // breaker open
        if (!subscribed && multiplexer.IsConnected && Interlocked.CompareExchange(ref subscribing, 1, 0) == 0)
            _ = SubscribeAsync(multiplexer).ContinueWith(_ => Interlocked.Exchange(ref subscribing, 0), TaskScheduler.Default);
        return multiplexer.GetDatabase();
    }

    public Task<byte[]?> GetAsync(string key) =>
        TryAsync<byte[]?>(async db => await db.StringGetAsync(key) is { HasValue: true } value ? (byte[]?)value : null);

    /// <summary>
    /// A lookup key's target and, when it is a member id, that member's snapshot bytes (null when not cached):
    /// (null, null) when Redis does not know the key, ("", null) for a remembered "not found".
    /// </summary>
    public async Task<(string? Id, byte[]? Snapshot)> GetLookupAsync(string lookupKey, string snapshotKeyPrefix)
    {
        var result = await TryAsync(db => db.ScriptEvaluateAsync(LookupWithSnapshot, [lookupKey], [snapshotKeyPrefix]));
        if (result is null || result.IsNull)
            return (null, null);
        var parts = (RedisResult[])result!;
        var id = (string?)parts[0] ?? "";
        return (id, parts.Length > 1 && !parts[1].IsNull ? (byte[]?)parts[1] : null);
    }

    public Task SetAsync(string key, byte[] value, TimeSpan ttl) =>
        TryAsync(db => db.StringSetAsync(key, value, ttl, flags: CommandFlags.FireAndForget));

    public Task DeleteAsync(string key) => TryAsync(db => db.KeyDeleteAsync(key));

    public Task SetSnapshotAsync(string key, string versionKey, byte[] value, long version) =>
        TryAsync(db => db.ScriptEvaluateAsync(SetIfNewer, [key, versionKey], [value, version, cacheOptions.L2TtlSeconds]));

    /// <summary>After a write: bump versions, drop keys, and tell every instance to drop its L1 copies.</summary>
    public Task InvalidateAsync(IReadOnlyList<(string Key, string VersionKey, long Version)> snapshots, IReadOnlyList<string> keys) =>
        TryAsync(async db =>
        {
            var batch = new List<Task>(snapshots.Count + 2);
            foreach (var (key, versionKey, version) in snapshots)
                batch.Add(db.ScriptEvaluateAsync(Bump, [key, versionKey], [version, cacheOptions.L2TtlSeconds]));
            if (keys.Count > 0)
                batch.Add(db.KeyDeleteAsync(keys.Select(k => (RedisKey)k).ToArray()));
            var all = snapshots.Select(s => s.Key).Concat(keys).Prepend(instanceId);
            batch.Add(db.PublishAsync(channel, string.Join('\n', all)));
            await Task.WhenAll(batch);
            return true;
        });

    /// <summary>Runs one Redis operation; any failure counts towards the breaker and reads as "no answer".</summary>
    async Task<T?> TryAsync<T>(Func<IDatabase, Task<T>> operation)
    {
        if (Database() is not { } db)
            return default;
        try
        {
            var result = await operation(db);
            Succeeded();
            return result;
        }
        catch (Exception exception) when (exception is RedisException or TimeoutException or ObjectDisposedException)
        {
            Failed();
            return default;
        }
    }

    void Succeeded()
    {
        if (Volatile.Read(ref consecutiveFailures) != 0)
            Interlocked.Exchange(ref consecutiveFailures, 0);
    }

    void Failed()
    {
        counters.RedisFailed();
        l1.Degraded = true;
        if (Interlocked.Increment(ref consecutiveFailures) >= options.BreakerFailures)
        {
            Interlocked.Exchange(ref openUntilTicks, clock.GetUtcNow().AddSeconds(options.BreakerOpenSeconds).UtcTicks);
            Interlocked.Exchange(ref consecutiveFailures, 0);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (connecting.IsCompletedSuccessfully && connecting.Result is { } multiplexer)
            await multiplexer.DisposeAsync();
    }
}

/// <summary>Health: Redis down is "degraded" (the service works without it), never "unhealthy".</summary>
public sealed class RedisHealthCheck(RedisCache redis) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(!redis.IsConfigured
            ? HealthCheckResult.Healthy("Redis not configured: in-process cache only")
            : redis.IsConnected
                ? HealthCheckResult.Healthy("Redis connected")
                : HealthCheckResult.Degraded("Redis unreachable: serving from the in-process cache and the store"));
}

/// <summary>Counts what the cache does, for tests and diagnostics.</summary>
public sealed class CacheCounters
{
    long storeLoads, l1Hits, l2Hits, redisFailures, invalidationsReceived;

    public long StoreLoads => Interlocked.Read(ref storeLoads);
    public long L1Hits => Interlocked.Read(ref l1Hits);
    public long L2Hits => Interlocked.Read(ref l2Hits);
    public long RedisFailures => Interlocked.Read(ref redisFailures);
    public long InvalidationsReceivedCount => Interlocked.Read(ref invalidationsReceived);

    public void StoreLoaded() => Interlocked.Increment(ref storeLoads);
    public void L1Hit() => Interlocked.Increment(ref l1Hits);
    public void L2Hit() => Interlocked.Increment(ref l2Hits);
    public void RedisFailed() => Interlocked.Increment(ref redisFailures);
    public void InvalidationsReceived() => Interlocked.Increment(ref invalidationsReceived);
}
