namespace Identity.Service.Import;

/// <summary>How a <see cref="BulkRows"/> column travels: a 64-bit integer, text, or bytes (hex in SQLite's JSON).</summary>
public enum BulkType
{
    Integer,
    Text,
    Blob,
}
