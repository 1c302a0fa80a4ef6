using System.Text.Json;
using System.Text.Json.Serialization;
using Identity.Service.Storage;
using Identity.V1;

namespace Identity.Service.Import;

/// <summary>An import's totals between its stored row and the reply message.</summary>
public static class ImportTotalsJson
{
    public static ImportTotals ToTotals(ImportRecord record)
    {
        var totals = new ImportTotals
        {
            Rows = record.Rows, Created = record.Created, Merged = record.Merged, AlreadyImported = record.AlreadyImported,
            Accepted = record.Created + record.Merged + record.AlreadyImported, Rejected = record.Rejected, PointsMigrated = record.PointsMigrated,
        };
        if (JsonSerializer.Deserialize(record.RejectedByReason, ImportJsonContext.Default.DictionaryStringInt64) is { } reasons)
            totals.RejectedByReason.Add(reasons);
        return totals;
    }

    public static void Store(ImportRecord record, ImportTotals totals, DateTimeOffset now)
    {
        record.Rows = totals.Rows;
        record.Created = totals.Created;
        record.Merged = totals.Merged;
        record.AlreadyImported = totals.AlreadyImported;
        record.Rejected = totals.Rejected;
        record.PointsMigrated = totals.PointsMigrated;
        record.RejectedByReason = JsonSerializer.Serialize(new Dictionary<string, long>(totals.RejectedByReason), ImportJsonContext.Default.DictionaryStringInt64);
        record.UpdatedAt = now;
    }
}

[JsonSerializable(typeof(Dictionary<string, long>))]
sealed partial class ImportJsonContext : JsonSerializerContext;
