using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Instrumentation.StackExchangeRedis;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Identity.Service.Telemetry;

/// <summary>
/// Metrics and traces. The <c>identity.*</c> meters are always created (nobody listening costs one check per
/// measurement); with <c>Identity:Telemetry:Enabled</c> on (the default) they, ASP.NET Core's and the runtime's meters
/// are collected for the Prometheus scrape and, when an OTLP endpoint is configured, pushed there too. Traces are
/// recorded only when something exports them: an OTLP endpoint, or a host that adds its own exporter through
/// <see cref="AddIdentityTracing"/>.
/// </summary>
public static class IdentityTelemetry
{
    /// <summary>The OpenTelemetry <c>service.name</c>.</summary>
    public const string ServiceName = "identity";

    public static IServiceCollection AddIdentityTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TelemetryOptions>().Bind(configuration.GetSection(TelemetryOptions.Section));
        services.AddMetrics();
        services.AddSingleton<CacheMetrics>();
        services.AddSingleton<ResolveMetrics>();
        services.AddSingleton<SecurityMetrics>();
        services.AddSingleton<LoyaltyMetrics>();
        services.AddSingleton<ImportMetrics>();
        services.AddSingleton<LedgerWriteCounter>();
        services.AddSingleton<RedisTracing>();
        // Log scopes carry the trace and span ids of the call being served, so a log line leads to its trace.
        services.Configure<LoggerFactoryOptions>(logging =>
            logging.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId | ActivityTrackingOptions.ParentId);

        if (!IsEnabled(configuration))
            return services;
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(ServiceName))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter("identity.*")
                    .AddMeter("Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime")
                    // A scrape reads the instruments as they are; the scrape path is not public (management endpoint).
                    .AddPrometheusExporter(prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0);
                if (TelemetryOptions.OtlpConfigured(configuration, "METRICS"))
                    metrics.AddOtlpExporter();
            });
        services.ConfigureOpenTelemetryMeterProvider((provider, builder) =>
        {
            // Meters made through a host's meter factory belong to that host: another server in the same process (tests)
            // must not show up in this one's scrape.
            var own = provider.GetRequiredService<IMeterFactory>();
            builder.AddView(instrument => instrument.Meter.Scope is IMeterFactory scope && scope != own ? MetricStreamConfiguration.Drop : null);
        });
        if (TelemetryOptions.OtlpConfigured(configuration, "TRACES"))
            services.AddIdentityTracing(tracing => tracing.AddOtlpExporter());
        return services;
    }

    public static bool IsEnabled(IConfiguration configuration) => configuration.GetValue($"{TelemetryOptions.Section}:Enabled", true);

    /// <summary>
    /// Records traces of the server, the store, Redis and the cache, and sends them to <paramref name="export"/> (an
    /// exporter or processor). Called for OTLP; a host may call it again for its own exporter (tests record in memory).
    /// </summary>
    public static IServiceCollection AddIdentityTracing(this IServiceCollection services, Action<TracerProviderBuilder> export)
    {
        var telemetry = services.AddOpenTelemetry();
        if (!services.Any(d => d.ServiceType == typeof(TracingRecorded)))
        {
            services.AddSingleton<TracingRecorded>();
            telemetry.WithTracing(tracing => tracing
                .AddSource(IdentityActivities.CacheSourceName)
                .AddAspNetCoreInstrumentation(aspNetCore =>
                {
                    aspNetCore.RecordException = false;
                    aspNetCore.Filter = context => context.Request.Path != TelemetryOptions.ScrapePath;
                })
                // The SQL text is recorded (EF writes every value as a parameter); parameter values are not (the default).
                .AddEntityFrameworkCoreInstrumentation()
                // The command name only (no key names, though those are keyed hashes anyway).
                .AddRedisInstrumentation(redis => redis.SetVerboseDatabaseStatements = false)
                .ConfigureRedisInstrumentation((provider, redis) => provider.GetRequiredService<RedisTracing>().Instrument(redis))
                .AddProcessor(new TracePrivacy()));
        }
        telemetry.WithTracing(export);
        return services;
    }

    /// <summary>
    /// Maps the Prometheus scrape at <c>/metrics</c>; null when telemetry is off. The caller decides which endpoint
    /// serves it (the management endpoint; never the public API).
    /// </summary>
    public static IEndpointConventionBuilder? MapIdentityTelemetry(this IEndpointRouteBuilder endpoints) =>
        endpoints.ServiceProvider.GetRequiredService<IOptions<TelemetryOptions>>().Value.Enabled
            ? endpoints.MapPrometheusScrapingEndpoint(TelemetryOptions.ScrapePath)
            : null;

    /// <summary>Marks that the trace pipeline is registered, so a second exporter does not register it twice.</summary>
    sealed class TracingRecorded;
}
