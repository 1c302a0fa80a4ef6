using System.CommandLine;

namespace Identity.Cli.Commands;

/// <summary>
/// <c>identity health</c>: asks a probe on the Management endpoint (HTTP/1.1, no key) and exits 0 when it answers 200.
/// The container's HEALTHCHECK uses it, since the runtime image has neither curl nor wget.
/// </summary>
internal static class HealthCommand
{
    public const string DefaultUrl = "http://127.0.0.1:5102/readyz";

    public static Command Create()
    {
        var url = new Option<string>("--url")
        {
            Description = "The probe to ask: /readyz (ready to serve) or /healthz (alive) on the Management endpoint",
            DefaultValueFactory = _ => DefaultUrl,
        };
        var timeout = new Option<int>("--timeout")
        {
            Description = "Seconds to wait for the answer",
            DefaultValueFactory = _ => 5,
        };
        var command = new Command("health", "Ask the server's readiness (or liveness) probe; exit 0 when it answers 200") { url, timeout };
        command.SetAction(async (parse, cancellationToken) =>
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(timeout))) };
            try
            {
                using var response = await http.GetAsync(parse.GetRequiredValue(url), cancellationToken);
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                Console.WriteLine($"{(int)response.StatusCode} {body}");
                return response.IsSuccessStatusCode ? ExitCodes.Ok : ExitCodes.Problems;
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException or UriFormatException or InvalidOperationException)
            {
                Console.Error.WriteLine($"The probe did not answer: {exception.Message}");
                return ExitCodes.Unreachable;
            }
        });
        return command;
    }
}
