namespace Identity.Service.Import;

/// <summary>Bounds on migrated values (<c>Identity:Import</c>): a larger value is a data error in the export, not a balance.</summary>
public sealed class ImportSettings
{
    public const string Section = "Identity:Import";

    /// <summary>The largest points balance a row may migrate.</summary>
    public long MaxPoints { get; set; } = 100_000_000;

    /// <summary>The largest growth value a row may carry over.</summary>
    public long MaxGrowth { get; set; } = 100_000_000;
}
