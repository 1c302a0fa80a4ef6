using System.Buffers;
using Identity.Service.Errors;
using Identity.Service.Storage;
using Identity.V1;

namespace Identity.Service.Import;

/// <summary>Reads ImportService requests: a bad header or a malformed stream is INVALID_ARGUMENT naming the field.</summary>
public static class ImportRequests
{
    static readonly SearchValues<char> ImportIdCharacters =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-");

    public static ImportSession Read(ImportHeader header)
    {
        var v = new FieldViolations();
        var importId = ReadImportId(v, "header.import_id", header.ImportId);
        var source = v.Required("header.source", header.Source, ImportLimits.SourceLength);
        var options = header.Options ?? new ImportOptions();
        v.KnownEnum("header.options.points_expiry", options.PointsExpiry, required: false);
        v.ThrowIfAny();
        var policy = options.PointsExpiry == PointsExpiryPolicy.Unspecified ? PointsExpiryPolicy.RowOrProgram : options.PointsExpiry;
        return new ImportSession(importId!, source!, policy, options.DryRun);
    }

    public static string Read(GetImportRequest request)
    {
        var v = new FieldViolations();
        var importId = ReadImportId(v, "import_id", request.ImportId);
        v.ThrowIfAny();
        return importId!;
    }

    /// <summary>A batch after the header: at most 1000 rows, each with a row number above 0.</summary>
    public static void Check(ImportMembersRequest message, int index)
    {
        switch (message.MessageCase)
        {
            case ImportMembersRequest.MessageOneofCase.Header:
                throw IdentityException.Invalid("header", $"must be sent once, as the first message (message {index} is a second header)");
            case ImportMembersRequest.MessageOneofCase.None:
                throw IdentityException.Invalid("batch", $"is required: message {index} is empty");
        }
        var rows = message.Batch.Rows;
        if (rows.Count > ImportLimits.MaxBatchRows)
            throw IdentityException.Invalid("batch.rows", $"must hold at most {ImportLimits.MaxBatchRows} rows (got {rows.Count})");
        // A row number names one row of the file: sent again in a later batch it replays (a resume), but twice in one
        // batch it names two rows, and the second would be answered as the first without ever being imported.
        var seen = new Dictionary<long, int>(rows.Count);
        for (var i = 0; i < rows.Count; i++)
        {
            if (rows[i].RowNumber <= 0)
                throw IdentityException.Invalid($"batch.rows[{i}].row_number", $"must be above 0 (got {rows[i].RowNumber})");
            if (!seen.TryAdd(rows[i].RowNumber, i))
                throw IdentityException.Invalid($"batch.rows[{i}].row_number",
                    $"must be unique in a batch: row {rows[i].RowNumber} is also batch.rows[{seen[rows[i].RowNumber]}]");
        }
    }

    static string? ReadImportId(FieldViolations v, string field, string value)
    {
        if (string.IsNullOrEmpty(value))
        {
            v.Add(field, "is required");
            return null;
        }
        if (value.Length > ImportLimits.ImportIdLength || value.AsSpan().IndexOfAnyExcept(ImportIdCharacters) >= 0)
        {
            v.Add(field, $"must be 1 to {ImportLimits.ImportIdLength} characters of A-Z a-z 0-9 . _ : -");
            return null;
        }
        return value;
    }
}
