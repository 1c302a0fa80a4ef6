using System.Diagnostics;
using BenchmarkDotNet.Attributes;
using Identity.Service.Telemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;

namespace Identity.Benchmarks;

/// <summary>
/// What telemetry adds to one hot resolve (two L1 hits, then the resolve's histogram record), with the service's own
/// telemetry registration on (the OpenTelemetry SDK and the Prometheus exporter collecting) and off.
/// </summary>
[MemoryDiagnoser]
public class TelemetryBenchmarks
{
    [Params(false, true)]
    public bool Telemetry { get; set; }

    ServiceProvider provider = null!;
    CacheMetrics cache = null!;
    ResolveMetrics resolve = null!;

    [GlobalSetup]
    public void Setup()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [$"{TelemetryOptions.Section}:Enabled"] = Telemetry.ToString() }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton<IConfiguration>(configuration);
        services.AddIdentityTelemetry(configuration);
        provider = services.BuildServiceProvider();
        _ = provider.GetService<MeterProvider>(); // starts collecting, as the host does at start
        cache = provider.GetRequiredService<CacheMetrics>();
        resolve = provider.GetRequiredService<ResolveMetrics>();
    }

    [GlobalCleanup]
    public void Cleanup() => provider.Dispose();

    [Benchmark(Description = "a hot resolve's measurements")]
    public void HotResolve()
    {
        var startedAt = Stopwatch.GetTimestamp();
        cache.L1Hit();
        cache.L1Hit();
        resolve.Resolved("phone", redirected: false, startedAt);
    }
}
