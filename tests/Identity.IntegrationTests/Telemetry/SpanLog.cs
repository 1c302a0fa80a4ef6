using System.Collections;
using System.Diagnostics;
using Identity.Service.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Instrumentation.StackExchangeRedis;
using OpenTelemetry.Trace;

namespace Identity.IntegrationTests.Telemetry;

/// <summary>
/// The spans a server exported to an in-memory exporter, added through the server builder's configure hook. Safe to
/// read while the server adds to it.
/// </summary>
public sealed class SpanLog : ICollection<Activity>
{
    public const string RedisSource = "OpenTelemetry.Instrumentation.StackExchangeRedis";
    public const string EfSource = "OpenTelemetry.Instrumentation.EntityFrameworkCore";

    readonly List<Activity> spans = [];

    /// <summary>Starts a server on Redis that records every span it makes into the returned log.</summary>
    public static async Task<(IdentityServer Server, SpanLog Spans)> StartServerAsync(RedisProcess redis)
    {
        var log = new SpanLog();
        var server = await IdentityServer.StartAsync(null, clock: null, configure: builder =>
        {
            builder.Services.AddIdentityTracing(tracing => tracing.AddInMemoryExporter(log));
            // Redis spans are made from the connection's profiler; drain it often so a test need not wait seconds.
            builder.Services.Configure<StackExchangeRedisInstrumentationOptions>(redis => redis.FlushInterval = TimeSpan.FromMilliseconds(50));
            // A slow Redis answer is rightly a miss, but then its command span is missing from the trace: these tests are
            // about the shape of a trace, so a loaded machine gets time to answer.
        }, $"--Redis:Configuration={redis.Configuration}", "--Redis:OperationTimeoutMilliseconds=5000");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!server.Service<Identity.Service.Caching.RedisCache>().IsConnected && DateTime.UtcNow < deadline)
            await Task.Delay(20);
        return (server, log);
    }

    public List<Activity> Snapshot()
    {
        lock (spans)
            return [.. spans];
    }

    /// <summary>Waits (up to 5 s) until a span matching <paramref name="condition"/> was exported.</summary>
    public async Task<List<Activity>> WaitForAsync(Func<Activity, bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (true)
        {
            var seen = Snapshot();
            if (seen.Any(condition) || DateTime.UtcNow > deadline)
                return seen;
            await Task.Delay(25);
        }
    }

    public void Add(Activity item)
    {
        lock (spans)
            spans.Add(item);
    }

    public void Clear()
    {
        lock (spans)
            spans.Clear();
    }

    public bool Contains(Activity item)
    {
        lock (spans)
            return spans.Contains(item);
    }

    public void CopyTo(Activity[] array, int arrayIndex)
    {
        lock (spans)
            spans.CopyTo(array, arrayIndex);
    }

    public bool Remove(Activity item)
    {
        lock (spans)
            return spans.Remove(item);
    }

    public int Count
    {
        get
        {
            lock (spans)
                return spans.Count;
        }
    }

    public bool IsReadOnly => false;

    public IEnumerator<Activity> GetEnumerator() => Snapshot().GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
