using nietras.SeparatedValues;

namespace Identity.Cli.Import;

/// <summary>
/// The records of an RFC 4180 CSV file with a header row, read by Sep: quoted fields may hold commas, doubled quotes and
/// line breaks. Record 1 is the first after the header, whatever number of lines the records before it spanned.
/// </summary>
internal sealed class CsvRecords : IDisposable
{
    private readonly Stream stream;
    private readonly StreamReader text;
    private readonly SepReader reader;

    public CsvRecords(InputFile file)
    {
        text = file.OpenText(out stream);
        // Rows with a missing or extra column are read as they are: a dirty export is the normal case, and a
        // missing value is an empty one.
        reader = Sep.New(',').Reader(o => o with { Unescape = true, DisableColCountCheck = true, HasHeader = false }).From(text);
        if (!reader.MoveNext())
            throw new Commands.UsageException($"{file.Path} is empty: it needs a header row");
        var headers = reader.Current[..].ToStringsArray();
        // A byte order mark the decoder left in place (GB18030 writes one as 84 31 95 33) is not part of the first name.
        if (headers.Length > 0)
            headers[0] = headers[0].TrimStart('\uFEFF');
        Headers = headers;
    }

    public IReadOnlyList<string> Headers { get; }

    /// <summary>How far into the file the reader is, in bytes (for the progress bar).</summary>
    public long BytesRead => stream.Position;

    /// <summary>The records after the header, numbered from 1; those up to <paramref name="skipThrough"/> are skipped unread.</summary>
    public IEnumerable<(long Number, string[] Values)> Read(long skipThrough = 0)
    {
        long number = 0;
        while (reader.MoveNext())
        {
            number++;
            var row = reader.Current;
            if (number <= skipThrough)
                continue;
            if (row.ColCount == 1 && row.Span.Length == 0)
                continue; // a blank line is no record (a trailing one is common)
            yield return (number, row[..].ToStringsArray());
        }
    }

    public void Dispose()
    {
        reader.Dispose();
        text.Dispose();
        stream.Dispose();
    }
}
