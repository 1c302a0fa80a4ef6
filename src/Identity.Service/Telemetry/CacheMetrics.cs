using System.Diagnostics.Metrics;

namespace Identity.Service.Telemetry;

/// <summary>
/// The <c>identity.cache</c> meter: what the two cache levels, the store loads behind them and the invalidations do. Tag
/// sets are fixed arrays, so recording allocates nothing on the hot path.
/// </summary>
public sealed class CacheMetrics
{
    public const string MeterName = "identity.cache";

    public const string Reads = "identity.cache.reads";
    public const string StoreLoads = "identity.cache.store_loads";
    public const string InvalidationsSent = "identity.cache.invalidations.sent";
    public const string InvalidationsReceived = "identity.cache.invalidations.received";
    public const string InvalidationsPending = "identity.cache.invalidations.pending";
    public const string OutboxApplied = "identity.cache.outbox.applied";
    public const string RedisFailures = "identity.cache.redis.failures";
    public const string RedisBreakerState = "identity.cache.redis.breaker.state";
    public const string RedisConnected = "identity.cache.redis.connected";
    public const string JunkDropped = "identity.cache.junk_dropped";

    static readonly KeyValuePair<string, object?>[] L1HitTags = [new("level", "l1"), new("result", "hit")];
    static readonly KeyValuePair<string, object?>[] L1MissTags = [new("level", "l1"), new("result", "miss")];
    static readonly KeyValuePair<string, object?>[] L2HitTags = [new("level", "l2"), new("result", "hit")];
    static readonly KeyValuePair<string, object?>[] L2MissTags = [new("level", "l2"), new("result", "miss")];
    static readonly KeyValuePair<string, object?>[] ViaRedis = [new("via", "redis")];
    static readonly KeyValuePair<string, object?>[] ViaOutbox = [new("via", "outbox")];

    readonly Meter meter;
    readonly Counter<long> reads;
    readonly Counter<long> storeLoads;
    readonly Counter<long> sent;
    readonly Counter<long> received;
    readonly Counter<long> outboxApplied;
    readonly Counter<long> redisFailures;
    readonly Counter<long> junkDropped;

    public CacheMetrics(IMeterFactory meters)
    {
        meter = meters.Create(MeterName);
        reads = meter.CreateCounter<long>(Reads, "{read}", "Cache reads by level (l1: in process, l2: Redis) and result (hit, miss).");
        storeLoads = meter.CreateCounter<long>(StoreLoads, "{load}", "Members loaded from the store after both cache levels missed.");
        sent = meter.CreateCounter<long>(InvalidationsSent, "{key}", "Cache keys invalidated in Redis and announced to every instance.");
        received = meter.CreateCounter<long>(InvalidationsReceived, "{key}",
            "Cache keys another instance's write dropped from this instance's L1, by the path that brought them (redis, outbox).");
        outboxApplied = meter.CreateCounter<long>(OutboxApplied, "{key}", "Outbox keys this instance applied to Redis after the write that made them could not.");
        redisFailures = meter.CreateCounter<long>(RedisFailures, "{call}", "Redis calls that failed or timed out (each counts towards the breaker).");
        junkDropped = meter.CreateCounter<long>(JunkDropped, "{value}", "Values found in Redis that were not sealed for their key, and were dropped.");
    }

    public void L1Hit() => reads.Add(1, L1HitTags);
    public void L1Miss() => reads.Add(1, L1MissTags);
    public void L2Hit() => reads.Add(1, L2HitTags);
    public void L2Miss() => reads.Add(1, L2MissTags);
    public void StoreLoaded() => storeLoads.Add(1);
    public void Sent(int keys) => sent.Add(keys);
    public void ReceivedThroughRedis(int keys) => received.Add(keys, ViaRedis);
    public void ReceivedThroughOutbox(int keys) => received.Add(keys, ViaOutbox);
    public void Applied(int keys) => outboxApplied.Add(keys);
    public void RedisFailed() => redisFailures.Add(1);
    public void Junk() => junkDropped.Add(1);

    /// <summary>Keys whose invalidation has not yet reached Redis (reads skip Redis for them meanwhile).</summary>
    public void ObservePending(Func<int> pending) =>
        meter.CreateObservableGauge(InvalidationsPending, pending, "{key}", "Cache keys written whose invalidation has not yet reached Redis.");

    /// <summary>The Redis breaker (0 closed, 1 open: Redis is skipped) and the connection (0 or 1); nothing when Redis is not configured.</summary>
    public void ObserveRedis(Func<bool> configured, Func<bool> breakerOpen, Func<bool> connected)
    {
        meter.CreateObservableGauge(RedisBreakerState, () => configured() ? [new Measurement<int>(breakerOpen() ? 1 : 0)] : Array.Empty<Measurement<int>>(),
            null, "The Redis breaker: 0 closed (Redis is used), 1 open (Redis is skipped until it closes).");
        meter.CreateObservableGauge(RedisConnected, () => configured() ? [new Measurement<int>(connected() ? 1 : 0)] : Array.Empty<Measurement<int>>(),
            null, "1 while the connection to Redis is up.");
    }
}
