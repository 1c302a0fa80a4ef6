namespace Identity.Service.Telemetry;

/// <summary>The <c>Identity:Telemetry</c> section: metrics and traces.</summary>
public sealed class TelemetryOptions
{
    public const string Section = "Identity:Telemetry";

    /// <summary>
    /// Master switch. On: the <c>identity.*</c> meters and the server's own meters are collected and scraped at
    /// <see cref="ScrapePath"/>, and traces are recorded when an OTLP endpoint is configured. Off: nothing is collected,
    /// nothing is exported, and the scrape path does not exist.
    /// </summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Where Prometheus scrapes.</summary>
    public const string ScrapePath = "/metrics";

    /// <summary>
    /// True when the standard OpenTelemetry settings name an OTLP endpoint (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, or the
    /// per-signal <c>OTEL_EXPORTER_OTLP_TRACES_ENDPOINT</c> / <c>OTEL_EXPORTER_OTLP_METRICS_ENDPOINT</c>). Without one
    /// nothing is sent anywhere, and traces are not even recorded.
    /// </summary>
    public static bool OtlpConfigured(IConfiguration configuration, string signal) =>
        !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"])
        || !string.IsNullOrWhiteSpace(configuration[$"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT"]);
}
