using OpenTelemetry.Instrumentation.StackExchangeRedis;
using StackExchange.Redis;

namespace Identity.Service.Telemetry;

/// <summary>
/// Hands the Redis connection to the Redis trace instrumentation when traces are recorded. The connection is made in
/// the background by <see cref="Caching.RedisCache"/>, and the tracer may be built before or after it: whichever comes
/// second attaches them. The instrumentation only registers a profiler on the connection; it changes nothing about how
/// calls time out or fail.
/// </summary>
public sealed class RedisTracing
{
    readonly Lock gate = new();
    IConnectionMultiplexer? connection;
    StackExchangeRedisInstrumentation? instrumentation;
    IDisposable? attached;

    /// <summary>Called by the cache once its connection exists.</summary>
    public void Connected(IConnectionMultiplexer multiplexer)
    {
        lock (gate)
        {
            connection = multiplexer;
            Attach();
        }
    }

    /// <summary>Called when the tracer is built with the Redis instrumentation.</summary>
    public void Instrument(StackExchangeRedisInstrumentation redis)
    {
        lock (gate)
        {
            instrumentation = redis;
            Attach();
        }
    }

    void Attach()
    {
        if (attached is null && connection is not null && instrumentation is not null)
            attached = instrumentation.AddConnection(connection);
    }
}
