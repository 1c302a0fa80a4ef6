namespace Identity.Service.Storage;

/// <summary>
/// A row key an import used that another import holds in <see cref="ImportKeyRecord"/> (an identical row it already
/// imported, a row that differs from it, or a rejected row over a key another import rejected first): the first row of
/// this import that used it, so a later row with the key in a later batch of this import is a duplicate of that row.
/// </summary>
public sealed class ImportKeyUseRecord
{
    public required string ImportId { get; init; }
    public required string SourceRowKey { get; init; }
    public long RowNumber { get; init; }
}
