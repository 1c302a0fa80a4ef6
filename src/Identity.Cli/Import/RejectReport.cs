using nietras.SeparatedValues;

namespace Identity.Cli.Import;

/// <summary>
/// The reject report: <c>row, field, reason, detail</c>, then the record's original columns under their original
/// headers, RFC 4180 quoted. A resumed import keeps the rejects of the rows it skips and appends the rest.
/// </summary>
internal sealed class RejectReport : IDisposable
{
    public static readonly string[] Columns = ["row", "field", "reason", "detail"];

    private readonly SepWriter writer;
    private readonly int originalCount;

    private RejectReport(SepWriter writer, int originalCount)
    {
        this.writer = writer;
        this.originalCount = originalCount;
    }

    public int Written { get; private set; }

    /// <summary>
    /// Opens the report at <paramref name="path"/>. With <paramref name="keepThroughRow"/> &gt; 0 (a resume), the rejects
    /// of rows up to it are copied from the existing report; any later ones are dropped, since those rows are sent again.
    /// </summary>
    public static RejectReport Create(string path, IReadOnlyList<string> originalHeaders, long keepThroughRow)
    {
        var kept = new List<string[]>();
        if (keepThroughRow > 0 && File.Exists(path))
        {
            using var old = Sep.Reader(o => o with { Unescape = true, DisableColCountCheck = true }).FromFile(path);
            foreach (var row in old)
            {
                if (long.TryParse(row[0].Span, out var number) && number <= keepThroughRow)
                    kept.Add(row[..].ToStringsArray());
            }
        }
        var writer = Sep.Writer(o => o with { Escape = true, WriteHeader = false, DisableColCountCheck = true }).ToFile(path);
        var report = new RejectReport(writer, originalHeaders.Count);
        report.WriteRow([.. Columns, .. originalHeaders]);
        foreach (var row in kept)
            report.WriteRow(row);
        report.Written = kept.Count;
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

    public void Flush() => writer.Flush();

    public void Dispose() => writer.Dispose();
}
