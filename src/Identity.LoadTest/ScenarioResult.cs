using System.Globalization;
using System.Text;
using System.Text.Json;
using HdrHistogram;

namespace Identity.LoadTest;

/// <summary>What one scenario measured. Latencies are of successful calls, in milliseconds.</summary>
internal sealed record ScenarioResult(
    string Scenario,
    int InFlight,
    double WarmupSeconds,
    double DurationSeconds,
    long Requests,
    double RequestsPerSecond,
    double P50,
    double P90,
    double P99,
    double P999,
    double Max,
    double Mean,
    long Errors,
    IReadOnlyDictionary<string, long> ErrorsByStatus)
{
    public static ScenarioResult From(string scenario, RunSettings settings, LongHistogram histogram, IReadOnlyDictionary<string, long> errors)
    {
        // HdrHistogram throws for percentiles of an empty histogram (every call failed): report zeros then.
        var empty = histogram.TotalCount == 0;
        double Ms(Func<double> micros) => empty ? 0 : micros() / 1000.0;
        return new ScenarioResult(
            scenario,
            settings.InFlight,
            settings.Warmup.TotalSeconds,
            settings.Duration.TotalSeconds,
            histogram.TotalCount,
            histogram.TotalCount / settings.Duration.TotalSeconds,
            Ms(() => histogram.GetValueAtPercentile(50)),
            Ms(() => histogram.GetValueAtPercentile(90)),
            Ms(() => histogram.GetValueAtPercentile(99)),
            Ms(() => histogram.GetValueAtPercentile(99.9)),
            Ms(() => histogram.GetMaxValue()),
            Ms(() => histogram.GetMean()),
            errors.Values.Sum(),
            errors);
    }

    public static string Header { get; } =
        $"{"scenario",-16} {"in-flight",9} {"req/s",10} {"p50 ms",9} {"p90 ms",9} {"p99 ms",9} {"p99.9 ms",9}  errors";

    /// <summary>One line for people, under <see cref="Header"/>.</summary>
    public string ToLine()
    {
        var line = string.Create(CultureInfo.InvariantCulture,
            $"{Scenario,-16} {InFlight,9} {RequestsPerSecond,10:0.0} {P50,9:0.000} {P90,9:0.000} {P99,9:0.000} {P999,9:0.000}  {Errors}");
        return Errors == 0 ? line : line + " (" + ErrorSummary() + ")";
    }

    /// <summary><c>DEADLINE_EXCEEDED=3 UNAVAILABLE=1</c>.</summary>
    public string ErrorSummary() =>
        string.Join(' ', ErrorsByStatus.Select(pair => string.Create(CultureInfo.InvariantCulture, $"{pair.Key}={pair.Value}")));

    /// <summary>One flat JSON object on one line (JSON Lines), with the run's other settings.</summary>
    public string ToJson(int connections, int members, double zipf, int seed)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("scenario", Scenario);
            json.WriteNumber("in_flight", InFlight);
            json.WriteNumber("connections", connections);
            json.WriteNumber("members", members);
            json.WriteNumber("zipf", zipf);
            json.WriteNumber("seed", seed);
            json.WriteNumber("warmup_s", WarmupSeconds);
            json.WriteNumber("duration_s", DurationSeconds);
            json.WriteNumber("requests", Requests);
            json.WriteNumber("requests_per_second", Math.Round(RequestsPerSecond, 1));
            json.WriteNumber("p50_ms", Math.Round(P50, 3));
            json.WriteNumber("p90_ms", Math.Round(P90, 3));
            json.WriteNumber("p99_ms", Math.Round(P99, 3));
            json.WriteNumber("p999_ms", Math.Round(P999, 3));
            json.WriteNumber("max_ms", Math.Round(Max, 3));
            json.WriteNumber("mean_ms", Math.Round(Mean, 3));
            json.WriteNumber("errors", Errors);
            json.WriteStartObject("errors_by_status");
            foreach (var (code, count) in ErrorsByStatus)
            {
                json.WriteNumber(code, count);
            }
            json.WriteEndObject();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
