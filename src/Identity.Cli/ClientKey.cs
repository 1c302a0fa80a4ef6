using Identity.Cli.Commands;

namespace Identity.Cli;

/// <summary>
/// The client key a command sends as <c>authorization: Bearer &lt;key&gt;</c>, and where it came from (for hints; the
/// key itself is never printed).
/// </summary>
/// <remarks>
/// Looked for in this order: <c>--key</c>, <c>--key-file</c>, env <c>IDENTITY_KEY</c>, env <c>IDENTITY_KEY_FILE</c>
/// (the command line before the environment); then, only when the server is on a loopback address, the bootstrap
/// admin key <c>data/admin.key</c> in the current directory or the nearest parent that has one (the server writes it
/// under its working directory at first start, the repository root under <c>dotnet run</c>). None: no key is sent.
/// </remarks>
internal sealed record ClientKey(string? Value, string Source)
{
    public const string KeyVariable = "IDENTITY_KEY";
    public const string KeyFileVariable = "IDENTITY_KEY_FILE";
    public const string BootstrapKeyPath = "data/admin.key";

    public static readonly ClientKey None = new(null, "none");

    public static ClientKey Resolve(string? keyOption, string? keyFileOption, Uri server)
    {
        if (keyOption is not null && keyFileOption is not null)
        {
            throw new UsageException("give --key or --key-file, not both");
        }
        if (keyOption is not null)
        {
            return new ClientKey(Check(keyOption, "--key"), "--key");
        }
        if (keyFileOption is not null)
        {
            return FromFile(keyFileOption, "--key-file");
        }
        if (Environment.GetEnvironmentVariable(KeyVariable) is { Length: > 0 } fromEnvironment)
        {
            return new ClientKey(Check(fromEnvironment, KeyVariable), KeyVariable);
        }
        if (Environment.GetEnvironmentVariable(KeyFileVariable) is { Length: > 0 } fileFromEnvironment)
        {
            return FromFile(fileFromEnvironment, KeyFileVariable);
        }
        if (server.IsLoopback && FindBootstrapKey() is { } bootstrap)
        {
            return FromFile(bootstrap, origin: null);
        }
        return None;
    }

    /// <summary><c>data/admin.key</c> in the current directory or the nearest parent that has one.</summary>
    private static string? FindBootstrapKey()
    {
        for (var directory = new DirectoryInfo(Directory.GetCurrentDirectory()); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, BootstrapKeyPath);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    private static ClientKey FromFile(string path, string? origin)
    {
        var fullPath = Path.GetFullPath(path);
        var source = origin is null ? fullPath : $"{origin} {fullPath}";
        string text;
        try
        {
            text = File.ReadAllText(fullPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new UsageException($"cannot read the key file {fullPath}{(origin is null ? "" : $" ({origin})")}: {ex.Message}");
        }
        return new ClientKey(Check(text, source), source);
    }

    /// <summary>The key without surrounding white space; one token of printable ASCII, as an HTTP header value needs.</summary>
    private static string Check(string text, string source)
    {
        var key = text.Trim();
        if (key.Length == 0)
        {
            throw new UsageException($"the key from {source} is empty");
        }
        // The message never repeats the key, not even in part.
        if (!key.All(c => c is > ' ' and <= '~'))
        {
            throw new UsageException($"the key from {source} is not a key: expected one line of printable ASCII without spaces");
        }
        return key;
    }
}
