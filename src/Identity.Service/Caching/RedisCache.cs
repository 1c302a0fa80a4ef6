using System.Text;
using Identity.Service.Hosting;
using Identity.Service.Telemetry;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Identity.Service.Caching;

/// <summary>
/// The shared level and the invalidation bus. Redis is only a cache, and an untrusted one: every call has a short
/// timeout, failures count towards a breaker that skips Redis for a while, and any failure reads as a miss. A value of
/// the wrong type, too large or empty is dropped by the scripts below and reported as junk. Nothing here throws to a
/// caller. Key names arrive already hashed (<see cref="CacheKeys"/>); this class adds the prefix.
/// </summary>
public sealed class RedisCache : IAsyncDisposable
{
    // Reads a string value defensively: 1 and the value, 0 when absent, 2 when the key held junk (dropped).
    const string SafeRead = """
        local function read(key, cap)
          local n = redis.pcall('STRLEN', key)
          if type(n) ~= 'number' then redis.call('DEL', key) return 2, false end
          if n == 0 then
            if redis.call('EXISTS', key) == 1 then redis.call('DEL', key) return 2, false end
            return 0, false
          end
          if n > cap then redis.call('DEL', key) return 2, false end
          return 1, redis.call('GET', key)
        end
        local function number(key)
          local v = redis.pcall('GET', key)
          if type(v) ~= 'string' then return nil end
          return tonumber(v)
        end

        """;

    // A snapshot: {status, value}.
    const string GetSnapshot = SafeRead + """
        local s, v = read(KEYS[1], tonumber(ARGV[1]))
        return {s, v}
        """;

    // A lookup and the snapshot it points to in one round trip: the lookup value starts with the snapshot key's token.
    const string GetLookup = SafeRead + """
        local cap = tonumber(ARGV[2])
        local s, v = read(KEYS[1], cap)
        if s ~= 1 then return {s, false, 0, false} end
        local t = string.sub(v, 1, tonumber(ARGV[3]))
        if string.len(v) <= tonumber(ARGV[3]) or string.find(t, '[^%w_-]') then return {1, v, 0, false} end
        local s2, v2 = read(ARGV[1] .. t, cap)
        return {1, v, s2, v2}
        """;

    // Stores a snapshot unless a newer version was announced or one of the same version is already stored: a load that
    // raced a write cannot put the old value back. A version key that is not a number does not count.
    const string SetIfNewer = SafeRead + """
        local current = number(KEYS[2])
        local version = tonumber(ARGV[2])
        if current and current > version then return 0 end
        if current and current == version and redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
        redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
        redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
        return 1
        """;

    // Applies invalidations: KEYS are (snapshot, version) pairs for ARGV[1] members, then lookup keys; ARGV[2..] the
    // members' versions, then the TTL, the channel and the message. Announces each version, drops every key, publishes.
    const string Invalidate = SafeRead + """
        local members = tonumber(ARGV[1])
        local ttl = ARGV[members + 2]
        for i = 1, members do
          local current = number(KEYS[2 * i])
          local version = tonumber(ARGV[i + 1])
          if not current or current < version then redis.call('SET', KEYS[2 * i], ARGV[i + 1], 'EX', ttl) end
          redis.call('DEL', KEYS[2 * i - 1])
        end
        for i = 2 * members + 1, #KEYS do redis.call('DEL', KEYS[i]) end
        redis.call('PUBLISH', ARGV[members + 3], ARGV[members + 4])
        return 1
        """;

    readonly RedisOptions options;
    readonly CacheOptions cacheOptions;
    readonly L1Cache l1;
    readonly CacheMetrics metrics;
    readonly RedisTracing tracing;
    readonly TimeProvider clock;
    readonly ILogger<RedisCache> logger;
    readonly RedisChannel channel;

    // Marks this instance's own messages: it has already applied them, and applying its own echo late would block
    // caching of values loaded in the meantime.
    readonly string instanceId = Guid.NewGuid().ToString("N");
    readonly Task<ConnectionMultiplexer?> connecting;
    int consecutiveFailures;
    long openUntilTicks;

    public RedisCache(IOptions<RedisOptions> options, IOptions<CacheOptions> cacheOptions, L1Cache l1, CacheMetrics metrics,
        RedisTracing tracing, TimeProvider clock, ILogger<RedisCache> logger)
    {
        this.options = options.Value;
        this.cacheOptions = cacheOptions.Value;
        this.l1 = l1;
        this.metrics = metrics;
        this.tracing = tracing;
        this.clock = clock;
        this.logger = logger;
        channel = RedisChannel.Literal(this.options.KeyPrefix + "invalidate");
        connecting = IsConfigured ? ConnectAsync() : Task.FromResult<ConnectionMultiplexer?>(null);
        metrics.ObserveRedis(() => IsConfigured, () => IsConnected && clock.GetUtcNow().UtcTicks < Interlocked.Read(ref openUntilTicks), () => IsConnected);
    }

    public bool IsConfigured => cacheOptions.Enabled && !string.IsNullOrWhiteSpace(options.Configuration);

    public string KeyPrefix => options.KeyPrefix;

    public bool IsConnected => connecting.IsCompletedSuccessfully && connecting.Result is { IsConnected: true };

    /// <summary>True when a call would be tried now (connected, breaker closed).</summary>
    public bool IsUsable => IsConnected && clock.GetUtcNow().UtcTicks >= Interlocked.Read(ref openUntilTicks);

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
        tracing.Connected(multiplexer);
        multiplexer.ConnectionFailed += (_, e) => Safely(() => Log.RedisDown(logger, e.FailureType.ToString()));
        multiplexer.ConnectionRestored += (_, _) => Safely(() =>
        {
            if (!subscribed)
                _ = SubscribeAsync(multiplexer);
            // Messages missed meanwhile need no clearing here: the outbox brings every change within the bound.
            Interlocked.Exchange(ref consecutiveFailures, 0);
            Log.RedisBack(logger);
        });
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
        catch (Exception exception) when (exception is RedisException or TimeoutException or OperationCanceledException)
        {
            // Not connected yet (or the connection died as it was sent): ConnectionRestored tries again.
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
        metrics.ReceivedThroughRedis(lines.Length - 1);
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

    RedisKey Key(string name) => options.KeyPrefix + name;

    /// <summary>A snapshot's sealed bytes, or null. Junk found under the key is dropped and counted.</summary>
    public async Task<byte[]?> GetSnapshotAsync(string key)
    {
        var result = await TryAsync(db => db.ScriptEvaluateAsync(GetSnapshot, [Key(key)], [cacheOptions.MaxValueBytes]));
        if (result is null || result.IsNull)
            return null;
        var parts = (RedisResult[])result!;
        return Value(parts[0], parts[1]);
    }

    /// <summary>
    /// A lookup key's sealed value and, when it leads to a snapshot cached here, that snapshot's sealed bytes; (null,
    /// null) when Redis does not know the key. Junk found under either key is dropped and counted.
    /// </summary>
    public async Task<(byte[]? Lookup, byte[]? Snapshot)> GetLookupAsync(string lookupKey)
    {
        var result = await TryAsync(db => db.ScriptEvaluateAsync(GetLookup, [Key(lookupKey)],
            [options.KeyPrefix + "m:", cacheOptions.MaxValueBytes, CacheKeys.TokenLength]));
        if (result is null || result.IsNull)
            return (null, null);
        var parts = (RedisResult[])result!;
        return (Value(parts[0], parts[1]), Value(parts[2], parts[3]));
    }

    byte[]? Value(RedisResult status, RedisResult value)
    {
        var code = (int)status;
        if (code == 2)
            metrics.Junk();
        return code == 1 && !value.IsNull ? (byte[]?)value : null;
    }

    public Task SetAsync(string key, byte[] value, TimeSpan ttl) =>
        TryAsync(db => db.StringSetAsync(Key(key), value, ttl, flags: CommandFlags.FireAndForget));

    /// <summary>Drops a key whose value could not be used (it is then reloaded and replaced).</summary>
    public Task DropJunkAsync(string key)
    {
        metrics.Junk();
        return TryAsync(db => db.KeyDeleteAsync(Key(key)));
    }

    public Task DeleteAsync(string key) => TryAsync(db => db.KeyDeleteAsync(Key(key)));

    public Task SetSnapshotAsync(string key, byte[] value, long version) =>
        TryAsync(db => db.ScriptEvaluateAsync(SetIfNewer, [Key(key), Key(CacheKeys.VersionOf(key))], [value, version, cacheOptions.L2TtlSeconds]));

    /// <summary>
    /// Applies changed keys: announces snapshot versions, drops the keys, and tells every instance to drop its L1
    /// copies, in one script. False when Redis could not be reached (the outbox applies them later).
    /// </summary>
    public async Task<bool> InvalidateAsync(IReadOnlyCollection<KeyValuePair<string, long>> changed)
    {
        if (changed.Count == 0)
            return true;
        var members = changed.Where(c => CacheKeys.IsMember(c.Key)).ToList();
        var keys = new List<RedisKey>(changed.Count + members.Count);
        var args = new List<RedisValue>(members.Count + 4) { members.Count };
        foreach (var (key, version) in members)
        {
            keys.Add(Key(key));
            keys.Add(Key(CacheKeys.VersionOf(key)));
            args.Add(version);
        }
        keys.AddRange(changed.Where(c => !CacheKeys.IsMember(c.Key)).Select(c => Key(c.Key)));
        args.Add(cacheOptions.L2TtlSeconds);
        args.Add(options.KeyPrefix + "invalidate");
        args.Add(string.Join('\n', changed.Select(c => c.Key).Prepend(instanceId)));
        var sent = await TryAsync(async db =>
        {
            await db.ScriptEvaluateAsync(Invalidate, keys.ToArray(), args.ToArray());
            return true;
        });
        if (sent)
            metrics.Sent(changed.Count);
        return sent;
    }

    /// <summary>
    /// Runs one Redis operation; any failure counts towards the breaker and reads as "no answer". The client fails a
    /// command that finds no connection at the moment of writing (the connection just died) as cancelled, not with a
    /// connection error; no operation here takes a cancellation token, so a cancellation is always that.
    /// </summary>
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
        catch (Exception exception) when (exception is RedisException or TimeoutException or ObjectDisposedException or OperationCanceledException)
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
        metrics.RedisFailed();
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
