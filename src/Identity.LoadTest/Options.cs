using System.CommandLine;
using System.Globalization;

namespace Identity.LoadTest;

/// <summary>Factories for the options the commands share; each command gets its own instances.</summary>
internal static class Options
{
    public const string DefaultServer = "http://127.0.0.1:5100";

    public static Option<Uri> Server() => new("--server")
    {
        Description = "Address of the Identity service (http:// speaks HTTP/2 cleartext)",
        HelpName = "url",
        DefaultValueFactory = _ => new Uri(DefaultServer),
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
            if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
            {
                return uri;
            }
            result.AddError($"--server must be an absolute http:// or https:// URL, not '{text}'");
            return null;
        },
    };

    public static Option<int> Int(string name, string description, int defaultValue, int min, int max, string helpName = "n")
    {
        var option = new Option<int>(name)
        {
            Description = description,
            HelpName = helpName,
            DefaultValueFactory = _ => defaultValue,
        };
        option.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<int>();
            if (value < min || value > max)
            {
                result.AddError(string.Create(CultureInfo.InvariantCulture, $"{name} must be between {min} and {max}, not {value}"));
            }
        });
        return option;
    }

    public static Option<TimeSpan> Duration(string name, string description, TimeSpan defaultValue, bool allowZero = false) => new(name)
    {
        Description = description + " (e.g. 20s, 500ms, 2m)",
        HelpName = "duration",
        DefaultValueFactory = _ => defaultValue,
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
            if (Durations.TryParse(text, out var value) && (allowZero || value > TimeSpan.Zero))
            {
                return value;
            }
            result.AddError($"{name} must be a {(allowZero ? "" : "positive ")}duration such as 20s, 500ms or 2m, not '{text}'");
            return default;
        },
    };
}
