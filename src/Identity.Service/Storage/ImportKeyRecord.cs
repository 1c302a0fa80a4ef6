namespace Identity.Service.Storage;

/// <summary>
/// A legacy row key as first seen from its source: it keys the row's migrated points (one entry per source and key,
/// whichever import brings it), finds later duplicates within an import, and tells an identical row sent again by
/// another import (already imported) from a different one (a duplicate).
/// </summary>
public sealed class ImportKeyRecord
{
    public required string Source { get; init; }
    public required string SourceRowKey { get; init; }
    public required string ImportId { get; set; }
    public long RowNumber { get; set; }

    /// <summary>A keyed hash of the row's content (the row holds personal data; the hash cannot be reversed without the key).</summary>
    public required byte[] RowHash { get; set; }

    /// <summary>The member the row was imported into; null when the row was rejected (another import may still bring it).</summary>
    public string? MemberId { get; set; }
}
