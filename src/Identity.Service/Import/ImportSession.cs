using Identity.V1;

namespace Identity.Service.Import;

/// <summary>One open ImportMembers stream: its import's header and, for a dry run, what earlier batches would have done.</summary>
public sealed class ImportSession(string importId, string source, PointsExpiryPolicy policy, bool dryRun)
{
    public string ImportId { get; } = importId;
    public string Source { get; } = source;
    public PointsExpiryPolicy Policy { get; } = policy;
    public bool DryRun { get; } = dryRun;

    /// <summary>A dry run writes nothing, so the members and keys its earlier batches would have made are kept here.</summary>
    public ImportOwners? DryRunState { get; } = dryRun ? new ImportOwners() : null;

    /// <summary>
    /// A dry run's outcomes by row number, so that a row number sent again in a later batch replays its outcome, as a real
    /// run's does from the store (a real run's live there).
    /// </summary>
    public Dictionary<long, ImportRowOutcome>? DryRunOutcomes { get; } = dryRun ? [] : null;

    /// <summary>A dry run's totals (a real run's live in the store).</summary>
    public ImportTotals DryRunTotals { get; } = new();
}
