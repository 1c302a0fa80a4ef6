using nietras.SeparatedValues;

namespace Identity.Cli.Import;

/// <summary>
/// The reject report: <c>row, field, reason, detail</c>, then the record's original columns under their original
/// headers, RFC 4180 quoted. A resumed import cuts the report back to its length at the checkpoint (the rejects of the
/// rows it will not send again) and appends: rows written after the checkpoint, possibly torn by a kill, are dropped
/// because those rows are sent and answered again.
/// </summary>
internal sealed class RejectReport : IDisposable
{
    public static readonly string[] Columns = ["row", "field", "reason", "detail"];

    private readonly FileStream stream;
    private readonly StreamWriter text;
    private readonly SepWriter writer;
    private readonly int originalCount;

    private RejectReport(FileStream stream, int originalCount, long written)
    {
        this.stream = stream;
        this.originalCount = originalCount;
        text = new StreamWriter(stream, new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 1 << 16);
        writer = Sep.New(',').Writer(o => o with { Escape = true, WriteHeader = false, DisableColCountCheck = true }).To(text);
        Written = written;
    }

    /// <summary>
    /// A resume found the report gone or shorter than at its checkpoint and started it again: it holds the rejects of
    /// this run only (the import's totals, from the server, still count every one).
    /// </summary>
    public bool LostEarlierRejects { get; private init; }

    /// <summary>Rejects in the report, including those kept from before a resume.</summary>
    public long Written { get; private set; }

    /// <summary>
    /// Opens the report at <paramref name="path"/>: new, or, when <paramref name="resumeFrom"/> names a length and a count
    /// the file still has, that file cut back to that length.
    /// </summary>
    public static RejectReport Create(string path, IReadOnlyList<string> originalHeaders, (long Length, long Written)? resumeFrom = null)
    {
        try
        {
            return Open(path, originalHeaders, resumeFrom);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new Commands.UsageException($"--rejects: cannot write the reject report {path}: {ex.Message}");
        }
    }

    /// <summary>
    /// Refuses, before anything is read or sent, a report path that would overwrite one of the command's own files or
    /// that cannot be a file.
    /// </summary>
    public static void CheckPath(string path, params string[] ownFiles)
    {
        var full = Path.GetFullPath(path);
        if (ownFiles.Any(own => SameFile.Check(own, path)))
            throw new Commands.UsageException($"--rejects: {path} is the file being imported or its checkpoint; name another file for the report");
        if (Directory.Exists(full))
            throw new Commands.UsageException($"--rejects: {path} is a directory; name a file for the report");
        if (Path.GetDirectoryName(full) is { } folder && !Directory.Exists(folder))
            throw new Commands.UsageException($"--rejects: the directory {folder} does not exist");
    }

    private static RejectReport Open(string path, IReadOnlyList<string> originalHeaders, (long Length, long Written)? resumeFrom)
    {
        if (resumeFrom is { } at && File.Exists(path) && new FileInfo(path).Length >= at.Length && at.Length > 0)
        {
            var existing = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.Read);
            existing.SetLength(at.Length);
            existing.Position = at.Length;
            return new RejectReport(existing, originalHeaders.Count, at.Written);
        }
        var report = new RejectReport(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read), originalHeaders.Count, 0)
        {
            LostEarlierRejects = resumeFrom is { Written: > 0 },
        };
        report.WriteRow([.. Columns, .. originalHeaders]);
        return report;
    }

    public void Add(long rowNumber, string field, string reason, string detail, IReadOnlyList<string> original)
    {
        var values = new string[Columns.Length + originalCount];
        values[0] = rowNumber.ToString(System.Globalization.CultureInfo.InvariantCulture);
        values[1] = field;
        values[2] = reason;
        values[3] = detail;
        for (var i = 0; i < originalCount; i++)
            values[Columns.Length + i] = i < original.Count ? original[i] : "";
        WriteRow(values);
        Written++;
    }

    private void WriteRow(IReadOnlyList<string> values)
    {
        using var row = writer.NewRow();
        for (var i = 0; i < values.Count; i++)
            row[i].Set(values[i]);
    }

    /// <summary>Writes everything out and returns the report's length, which a checkpoint records.</summary>
    public long Flush()
    {
        writer.Flush();
        text.Flush();
        return stream.Position;
    }

    public void Dispose()
    {
        writer.Dispose();
        text.Dispose();
        stream.Dispose();
    }
}
