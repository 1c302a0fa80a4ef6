namespace Identity.Service.Caching;

/// <summary>
/// What one outbox row names. A row written for an ordinary write names one cache key, with the member's snapshot
/// version in its own column. A bulk write (an import batch) packs many keys into one row instead of one row each: one
/// entry per line, a key alone (version 0, a lookup) or a key, a space and its snapshot version. Keys are a prefix and
/// a base64url token, so they never hold a space or a line break.
/// </summary>
public static class OutboxKeys
{
    /// <summary>The most entries one packed row holds, so that a poll reading a backlog of rows stays small.</summary>
    public const int MaxPerRow = 500;

    /// <summary>Packs keys and their versions into rows of at most <see cref="MaxPerRow"/> entries.</summary>
    public static IEnumerable<string> Pack(IEnumerable<KeyValuePair<string, long>> entries)
    {
        var text = new System.Text.StringBuilder();
        var count = 0;
        foreach (var (key, version) in entries)
        {
            if (count > 0)
                text.Append('\n');
            text.Append(key);
            if (version != 0)
                text.Append(' ').Append(version.ToString(System.Globalization.CultureInfo.InvariantCulture));
            if (++count == MaxPerRow)
            {
                yield return text.ToString();
                text.Clear();
                count = 0;
            }
        }
        if (count > 0)
            yield return text.ToString();
    }

    /// <summary>The keys a row names, each with its snapshot version (0 for lookups).</summary>
    public static IEnumerable<KeyValuePair<string, long>> Unpack(string key, long version)
    {
        if (IsOneKey(key))
        {
            yield return KeyValuePair.Create(key, version);
            yield break;
        }
        foreach (var line in key.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var space = line.IndexOf(' ');
            yield return space < 0
                ? KeyValuePair.Create(line, 0L)
                : KeyValuePair.Create(line[..space], long.Parse(line.AsSpan(space + 1), System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    /// <summary>The keys alone.</summary>
    public static IEnumerable<string> Keys(string key) => IsOneKey(key) ? [key] : Unpack(key, 0).Select(e => e.Key);

    /// <summary>A row of an ordinary write: one key, its version in the row's own column.</summary>
    static bool IsOneKey(string key) => key.AsSpan().IndexOfAny('\n', ' ') < 0;
}
