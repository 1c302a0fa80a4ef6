namespace Identity.Service.Import;

/// <summary>A row after the checks that need no store: valid, or rejected; its key and content hash either way.</summary>
public sealed record CheckedRow(long RowNumber, string? SourceRowKey, byte[] RowHash, ValidRow? Valid, ImportRejection? Rejection);
