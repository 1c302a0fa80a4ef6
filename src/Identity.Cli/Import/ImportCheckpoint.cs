using System.Text.Json;
using System.Text.Json.Serialization;

namespace Identity.Cli.Import;

/// <summary>
/// <c>FILE.import-state.json</c>: the import id, the highest row number up to which every row has been answered, and
/// the reject report's length and count at that point.
/// With <c>--resume</c> those rows are not read again. It only saves time: the server replays any row it has already
/// seen under the same import id, so a lost or stale checkpoint never doubles anything.
/// </summary>
internal sealed record ImportCheckpoint(
    [property: JsonPropertyName("import_id")] string ImportId,
    [property: JsonPropertyName("file_sha256")] string FileSha256,
    [property: JsonPropertyName("acknowledged_through_row")] long AcknowledgedThroughRow,
    [property: JsonPropertyName("rejects_length")] long RejectsLength,
    [property: JsonPropertyName("rejects_written")] long RejectsWritten)
{
    public static string PathFor(string file) => file + ".import-state.json";

    public static ImportCheckpoint? Read(string path)
    {
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize(File.ReadAllText(path), CheckpointJson.Default.ImportCheckpoint) : null;
        }
        catch (JsonException)
        {
            return null; // a torn or edited file: start from the first row, which is always safe
        }
    }

    /// <summary>Written to a temporary file and renamed over the old one, so a crash leaves one or the other whole.</summary>
    public void Write(string path)
    {
        var temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(this, CheckpointJson.Default.ImportCheckpoint));
        File.Move(temporary, path, overwrite: true);
    }
}

[JsonSerializable(typeof(ImportCheckpoint))]
[JsonSourceGenerationOptions(WriteIndented = true)]
internal sealed partial class CheckpointJson : JsonSerializerContext;
