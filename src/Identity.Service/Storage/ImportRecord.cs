namespace Identity.Service.Storage;

/// <summary>One legacy import (a real run; dry runs keep no state): its header and running totals.</summary>
public sealed class ImportRecord
{
    /// <summary>The caller's import id.</summary>
    public required string Id { get; init; }

    public required string Source { get; init; }

    /// <summary>An <c>identity.v1.PointsExpiryPolicy</c> value.</summary>
    public int PointsExpiry { get; init; }

    public DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }

    public long Rows { get; set; }
    public long Created { get; set; }
    public long Merged { get; set; }
    public long AlreadyImported { get; set; }
    public long Rejected { get; set; }
    public long PointsMigrated { get; set; }

    /// <summary>Rejected rows by reason code, as JSON (<c>{"invalid_phone":12}</c>).</summary>
    public required string RejectedByReason { get; set; }
}
