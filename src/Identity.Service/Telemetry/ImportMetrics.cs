using System.Diagnostics.Metrics;

namespace Identity.Service.Telemetry;

/// <summary>
/// The <c>identity.import</c> meter: legacy import rows by outcome. The import reports each batch's rows once they are
/// committed (or refused), through <see cref="RowsProcessed"/>.
/// </summary>
public sealed class ImportMetrics
{
    public const string MeterName = "identity.import";
    public const string Rows = "identity.import.rows";

    /// <summary>The outcome labels. Anything else is recorded as <c>other</c>, so a label never carries row data.</summary>
    public static readonly IReadOnlySet<string> Outcomes = new HashSet<string>(StringComparer.Ordinal)
    {
        "imported", "updated", "unchanged", "skipped", "rejected", "failed",
    };

    readonly Counter<long> rows;

    public ImportMetrics(IMeterFactory meters) =>
        rows = meters.Create(MeterName).CreateCounter<long>(Rows, "{row}", "Legacy import rows, by outcome (imported, updated, unchanged, skipped, rejected, failed).");

    public void RowsProcessed(string outcome, long count)
    {
        if (count > 0)
            rows.Add(count, new KeyValuePair<string, object?>("outcome", Outcomes.Contains(outcome) ? outcome : "other"));
    }
}
