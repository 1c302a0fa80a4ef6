using System.Data.Common;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Identity.Service.Import;

/// <summary>
/// The rows of one multi-row statement, read in SQL as <c>u.v_&lt;column&gt;</c> from <see cref="Source"/>. On SQLite they
/// travel as one JSON array of rows, read back with <c>json_each</c>: one statement and one parameter however many rows
/// (binding thousands of named parameters, or running one statement per row, costs more than the inserts themselves).
/// On PostgreSQL they travel as one array per column, read back with <c>unnest</c>: one round trip.
/// </summary>
public sealed class BulkRows(bool postgres, string name, params (string Column, BulkType Type)[] columns)
{
    // Names are mostly CJK: written as they are (SQLite reads UTF-8), not as \u escapes.
    static readonly JsonWriterOptions JsonOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    readonly List<object?[]> rows = [];

    public int Count => rows.Count;

    /// <summary>One row: a long, a string or a byte array per column (null for NULL), in the columns' order.</summary>
    public void Add(params object?[] values)
    {
        if (values.Length != columns.Length)
            throw new ArgumentException($"{name} takes {columns.Length} values a row.", nameof(values));
        rows.Add(values);
    }

    /// <summary>A FROM item named <c>u</c> with a column <c>v_&lt;column&gt;</c> per column.</summary>
    public string Source
    {
        get
        {
            if (postgres)
                return $"unnest({string.Join(", ", columns.Select((_, i) => $"@{name}_{i}"))}) AS u({string.Join(", ", columns.Select(c => "v_" + c.Column))})";
            var select = string.Join(", ", columns.Select((c, i) => c.Type == BulkType.Blob
                ? $"unhex(j.value ->> '$[{i}]') AS v_{c.Column}"
                : $"j.value ->> '$[{i}]' AS v_{c.Column}"));
            return $"(SELECT {select} FROM json_each(@{name}) j) AS u";
        }
    }

    /// <summary>Binds the rows to <paramref name="command"/> as <see cref="Source"/> reads them.</summary>
    public void Bind(DbCommand command)
    {
        if (postgres)
        {
            for (var i = 0; i < columns.Length; i++)
            {
                var parameter = command.CreateParameter();
                parameter.ParameterName = $"@{name}_{i}";
                parameter.Value = columns[i].Type switch
                {
                    BulkType.Integer => rows.Select(row => row[i] is null ? (long?)null : Convert.ToInt64(row[i])).ToArray(),
                    BulkType.Text => rows.Select(row => (string?)row[i]).ToArray(),
                    _ => (object)rows.Select(row => (byte[]?)row[i]).ToArray(),
                };
                command.Parameters.Add(parameter);
            }
            return;
        }
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, JsonOptions))
        {
            json.WriteStartArray();
            foreach (var row in rows)
            {
                json.WriteStartArray();
                foreach (var value in row)
                {
                    switch (value)
                    {
                        case null: json.WriteNullValue(); break;
                        case string text: json.WriteStringValue(text); break;
                        case byte[] bytes: json.WriteStringValue(Convert.ToHexString(bytes)); break;
                        default: json.WriteNumberValue(Convert.ToInt64(value)); break;
                    }
                }
                json.WriteEndArray();
            }
            json.WriteEndArray();
        }
        var sqlite = command.CreateParameter();
        sqlite.ParameterName = "@" + name;
        sqlite.Value = Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        command.Parameters.Add(sqlite);
    }
}
