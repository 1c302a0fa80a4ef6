using System.CommandLine;

namespace Identity.LoadTest;

/// <summary>
/// <c>--key KEY | --key-file PATH</c> (env <c>IDENTITY_KEY</c> / <c>IDENTITY_KEY_FILE</c>): the client key sent as
/// <c>authorization: Bearer &lt;key&gt;</c> on every call but the health check. The command line wins over the
/// environment; no key at all sends none (the server then answers UNAUTHENTICATED). The key is never printed.
/// </summary>
internal sealed class ClientKeyOptions
{
    public const string KeyVariable = "IDENTITY_KEY";
    public const string KeyFileVariable = "IDENTITY_KEY_FILE";

    // No default value from the environment: help prints default values, and a key must never be printed.
    private readonly Option<string> key = new("--key")
    {
        Description = $"Client key, sent as 'authorization: Bearer <key>' on every call but health (env {KeyVariable})",
        HelpName = "key",
    };

    private readonly Option<string> keyFile = new("--key-file")
    {
        Description = $"File whose content is the client key (env {KeyFileVariable})",
        HelpName = "path",
    };

    public void AddTo(Command command)
    {
        command.Options.Add(key);
        command.Options.Add(keyFile);
        command.Validators.Add(result =>
        {
            if (result.GetResult(key) is not null && result.GetResult(keyFile) is not null)
            {
                result.AddError("give --key or --key-file, not both");
            }
        });
    }

    /// <summary>The key, or null when none is configured; false with <paramref name="problem"/> when one cannot be read.</summary>
    public bool TryRead(ParseResult parse, out string? value, out string problem)
    {
        value = null;
        problem = "";
        string text, source;
        if (parse.GetValue(key) is { } fromOption)
        {
            (text, source) = (fromOption, "--key");
        }
        else if (parse.GetValue(keyFile) is { } fileFromOption)
        {
            if (!TryReadFile(fileFromOption, "--key-file", out text, out problem))
            {
                return false;
            }
            source = $"--key-file {fileFromOption}";
        }
        else if (Environment.GetEnvironmentVariable(KeyVariable) is { Length: > 0 } fromEnvironment)
        {
            (text, source) = (fromEnvironment, KeyVariable);
        }
        else if (Environment.GetEnvironmentVariable(KeyFileVariable) is { Length: > 0 } fileFromEnvironment)
        {
            if (!TryReadFile(fileFromEnvironment, KeyFileVariable, out text, out problem))
            {
                return false;
            }
            source = $"{KeyFileVariable} {fileFromEnvironment}";
        }
        else
        {
            return true;
        }

        var trimmed = text.Trim();
        // The messages never repeat the key, not even in part.
        if (trimmed.Length == 0)
        {
            problem = $"the key from {source} is empty";
            return false;
        }
        if (!trimmed.All(c => c is > ' ' and <= '~'))
        {
            problem = $"the key from {source} is not a key: expected one line of printable ASCII without spaces";
            return false;
        }
        value = trimmed;
        return true;
    }

    private static bool TryReadFile(string path, string origin, out string text, out string problem)
    {
        try
        {
            text = File.ReadAllText(path);
            problem = "";
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            text = "";
            problem = $"cannot read the key file {path} ({origin}): {ex.Message}";
            return false;
        }
    }
}
