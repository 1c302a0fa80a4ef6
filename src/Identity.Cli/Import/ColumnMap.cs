using Identity.Cli.Commands;

namespace Identity.Cli.Import;

/// <summary>
/// Which CSV header fills which ImportRow field. By default each field reads the column named like it
/// (<c>phone</c>, <c>source_row_key</c>…); <c>--map field=Header</c> and <c>--map-file</c> rename them.
/// </summary>
internal sealed class ColumnMap
{
    private readonly Dictionary<string, string> headerByField;
    private readonly HashSet<string> explicitFields;

    private ColumnMap(Dictionary<string, string> headerByField, HashSet<string> explicitFields)
    {
        this.headerByField = headerByField;
        this.explicitFields = explicitFields;
    }

    public string HeaderOf(string field) => headerByField[field];

    /// <summary>
    /// The mapping from <c>field=Header</c> entries: those of the map file first, then the command line's, a later
    /// entry for the same field winning. An unknown field or an entry without <c>=</c> is a usage error.
    /// </summary>
    public static ColumnMap Create(IEnumerable<string> entries, string? mapFile = null)
    {
        var all = new List<(string Entry, string Origin)>();
        if (mapFile is not null)
        {
            string[] lines;
            try
            {
                lines = File.ReadAllLines(InputPath.File(mapFile, "--map-file"));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"--map-file {mapFile}: {ex.Message}");
            }
            for (var i = 0; i < lines.Length; i++)
            {
                var line = lines[i].Trim();
                if (line.Length > 0 && !line.StartsWith('#'))
                    all.Add((line, $"{mapFile} line {i + 1}"));
            }
        }
        all.AddRange(entries.Select(e => (e, "--map")));

        var headerByField = ImportFields.All.ToDictionary(f => f, f => f, StringComparer.Ordinal);
        var explicitFields = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (entry, origin) in all)
        {
            var equals = entry.IndexOf('=', StringComparison.Ordinal);
            var field = equals > 0 ? entry[..equals].Trim().ToLowerInvariant() : "";
            var header = equals > 0 ? entry[(equals + 1)..].Trim() : "";
            if (field.Length == 0 || header.Length == 0)
                throw new UsageException($"{origin}: '{entry}' is not field=Header");
            if (!headerByField.ContainsKey(field))
                throw new UsageException($"{origin}: unknown field '{field}'; fields are {string.Join(", ", ImportFields.All)}");
            headerByField[field] = header;
            explicitFields.Add(field);
        }
        return new ColumnMap(headerByField, explicitFields);
    }

    /// <summary>
    /// The column index of every field in a file with these headers (-1 when the file has none). Headers match
    /// ignoring case and surrounding spaces. A header named by <c>--map</c> must exist, and so must a row key column:
    /// without one, no row could be imported.
    /// </summary>
    public int[] Bind(IReadOnlyList<string> headers)
    {
        var indexes = new int[ImportFields.All.Count];
        var problems = new List<string>();
        for (var f = 0; f < ImportFields.All.Count; f++)
        {
            var field = ImportFields.All[f];
            var header = headerByField[field];
            indexes[f] = -1;
            var matching = Enumerable.Range(0, headers.Count)
                .Where(c => string.Equals(headers[c].Trim(), header, StringComparison.OrdinalIgnoreCase)).ToList();
            if (matching.Count > 0)
                indexes[f] = matching[0];
            // Two columns a field could read: which one the export meant is not the tool's guess to make.
            if (matching.Count > 1)
                problems.Add($"{matching.Count} columns are named '{header}' (columns {string.Join(", ", matching.Select(c => c + 1))}) for {field}; " +
                             "rename one in the file or map the field to another column with --map");
            if (indexes[f] < 0 && (explicitFields.Contains(field) || field == ImportFields.SourceRowKey))
                problems.Add($"no column '{header}' for {field}" + (explicitFields.Contains(field) ? "" : $" (map one with --map {field}=HEADER)"));
        }
        var identifiers = new[] { ImportFields.Phone, ImportFields.ExternalId, ImportFields.UnionId };
        if (identifiers.All(f => indexes[IndexOf(f)] < 0))
            problems.Add($"no column for any of {string.Join(", ", identifiers)} (map one with --map phone=HEADER)");
        if (problems.Count > 0)
            throw new UsageException($"the file's header does not fit: {string.Join("; ", problems)}; its columns are {string.Join(", ", headers.Select(h => $"'{h}'"))}");
        return indexes;
    }

    public static int IndexOf(string field)
    {
        for (var i = 0; i < ImportFields.All.Count; i++)
        {
            if (ImportFields.All[i] == field)
                return i;
        }
        throw new ArgumentException($"unknown field {field}", nameof(field));
    }
}
