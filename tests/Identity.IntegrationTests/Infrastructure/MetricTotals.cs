using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace Identity.IntegrationTests.Infrastructure;

/// <summary>
/// Reads one server's <c>identity.*</c> instruments as they are recorded: the sum of a counter (or the number of
/// histogram records), optionally only for measurements carrying given tags. Only the meters made by that server's
/// meter factory are read, so servers running side by side do not mix.
/// </summary>
public sealed class MetricTotals : IDisposable
{
    readonly MeterListener listener = new();
    readonly ConcurrentDictionary<(string Name, string Tags), long> totals = new();

    public MetricTotals(IMeterFactory scope)
    {
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Scope == scope && instrument.Meter.Name.StartsWith("identity.", StringComparison.Ordinal))
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Add(instrument.Name, value, tags));
        listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Add(instrument.Name, value, tags));
        listener.SetMeasurementEventCallback<double>((instrument, _, tags, _) => Add(instrument.Name, 1, tags));
        listener.Start();
    }

    void Add(string name, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var key = string.Join(",", tags.ToArray().OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => $"{t.Key}={t.Value}"));
        totals.AddOrUpdate((name, key), value, (_, total) => total + value);
    }

    /// <summary>The total of <paramref name="instrument"/> over measurements that carry every tag given as <c>key=value</c>.</summary>
    public long Sum(string instrument, params string[] tags) =>
        totals.Where(t => t.Key.Name == instrument && tags.All(tag => t.Key.Tags.Split(',').Contains(tag))).Sum(t => t.Value);

    public void Dispose() => listener.Dispose();
}
