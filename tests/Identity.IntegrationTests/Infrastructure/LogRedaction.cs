namespace Identity.IntegrationTests.Infrastructure;

/// <summary>Finds what must never be logged: any phone, key or member name the test run handed out.</summary>
public static class LogRedaction
{
    public static IReadOnlyList<string> Find(IEnumerable<string> lines)
    {
        var text = string.Join('\n', lines);
        var leaks = new List<string>();
        foreach (var phone in TestData.IssuedPhones.ToArray())
        {
            if (text.Contains(phone, StringComparison.Ordinal))
                leaks.Add($"phone {TestData.Masked(phone)}");
        }
        foreach (var key in LogCapture.Keys.ToArray())
        {
            if (key.Length >= 16 && text.Contains(key, StringComparison.Ordinal))
                leaks.Add($"key {key[..8]}…");
        }
        foreach (var name in TestData.Names)
        {
            if (text.Contains(name, StringComparison.Ordinal))
                leaks.Add($"name {name}");
        }
        return leaks;
    }
}
