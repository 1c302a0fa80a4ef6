namespace Identity.Service.Storage;

/// <summary>
/// The first outcome of one row of an import, keyed by (import id, row number), written in the transaction that
/// decided it; a row sent again replays it. Holds no personal data: ids, codes and a detail without values.
/// </summary>
public sealed class ImportRowRecord
{
    public required string ImportId { get; init; }
    public long RowNumber { get; init; }

    /// <summary>An <c>identity.v1.ImportAcceptance</c> value; 0 when the row was rejected.</summary>
    public int Acceptance { get; init; }

    public string? MemberId { get; init; }
    public string? Reason { get; init; }
    public string? Field { get; init; }
    public string? Detail { get; init; }
    public string? OwnerMemberId { get; init; }
}
