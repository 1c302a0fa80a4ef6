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
    }

    public ConnectionSettings Read(ParseResult parseResult) => new(
        ParseServer(parseResult.GetValue(Server)) ?? new Uri(DefaultServer),
        parseResult.GetValue(Json),
        TimeSpan.FromSeconds(parseResult.GetValue(Timeout)));

    private static Uri? ParseServer(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
            ? uri
            : null;
}

internal sealed record ConnectionSettings(Uri Server, bool Json, TimeSpan Timeout);
