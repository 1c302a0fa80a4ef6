using Identity.Cli.Import;

namespace Identity.LoadTest.Legacy;

/// <summary>
/// The columns of a generated legacy export: the ImportRow field names the CLI maps by default
/// (<see cref="ImportFields"/>, compiled into this tool from the CLI), so a client maps them by name as they are.
/// </summary>
public static class LegacyColumns
{
    public static IReadOnlyList<string> All => ImportFields.All;

    public static int IndexOf(string column)
    {
        for (var i = 0; i < All.Count; i++)
            if (All[i] == column)
                return i;
        throw new ArgumentException($"No column {column}.", nameof(column));
    }
}
