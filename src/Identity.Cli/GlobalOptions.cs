using System.CommandLine;
using System.Globalization;

namespace Identity.Cli;

/// <summary>Options accepted by every command, before or after the command name.</summary>
internal sealed class GlobalOptions
{
    public const string ServerVariable = "IDENTITY_SERVER";
    public const string DefaultServer = "http://127.0.0.1:5100";

    public Option<string> Server { get; } = new("--server")
    {
        Description = $"Address of the Identity service (env {ServerVariable})",
        HelpName = "url",
        Recursive = true,
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(ServerVariable) is { Length: > 0 } fromEnvironment
            ? fromEnvironment
            : DefaultServer,
    };

    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Print the response message as protobuf JSON",
        Recursive = true,
    };

    public Option<double> Timeout { get; } = new("--timeout")
    {
        Description = "Deadline of the call, in seconds",
        HelpName = "seconds",
        Recursive = true,
        DefaultValueFactory = _ => 10,
    };

    // No default value from the environment here: help prints default values, and a key must never be printed.
    public Option<string> Key { get; } = new("--key")
    {
        Description = $"Client key, sent as 'authorization: Bearer <key>' (env {ClientKey.KeyVariable}); " +
            $"default for a loopback server: {ClientKey.BootstrapKeyPath} in the current directory or the nearest parent with one",
        HelpName = "key",
        Recursive = true,
    };

    public Option<string> KeyFile { get; } = new("--key-file")
    {
        Description = $"File whose content is the client key (env {ClientKey.KeyFileVariable})",
        HelpName = "path",
        Recursive = true,
    };

    public GlobalOptions()
    {
        Server.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<string>();
            if (ParseServer(value) is null)
            {
                result.AddError($"--server must be an absolute http:// or https:// URL, not '{value}'");
            }
        });
        Timeout.Validators.Add(result =>
        {
            var seconds = result.GetValueOrDefault<double>();
            if (!(seconds > 0 && seconds <= TimeSpan.FromDays(1).TotalSeconds))
            {
                result.AddError(string.Create(CultureInfo.InvariantCulture, $"--timeout must be a positive number of seconds, not {seconds}"));
            }
        });
    }

    public void AddTo(Command root)
    {
        root.Options.Add(Server);
        root.Options.Add(Json);
        root.Options.Add(Timeout);
        root.Options.Add(Key);
        root.Options.Add(KeyFile);
    }

    /// <summary>The settings of the command; a key that cannot be read is a <see cref="Commands.UsageException"/>.</summary>
    public ConnectionSettings Read(ParseResult parseResult)
    {
        var server = ParseServer(parseResult.GetValue(Server)) ?? new Uri(DefaultServer);
        return new(
            server,
            parseResult.GetValue(Json),
            TimeSpan.FromSeconds(parseResult.GetValue(Timeout)),
            ClientKey.Resolve(parseResult.GetValue(Key), parseResult.GetValue(KeyFile), server));
    }

    private static Uri? ParseServer(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : null;
}

internal sealed record ConnectionSettings(Uri Server, bool Json, TimeSpan Timeout, ClientKey Key);
