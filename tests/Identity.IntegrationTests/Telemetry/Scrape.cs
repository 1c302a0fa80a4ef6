using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Identity.IntegrationTests.Telemetry;

/// <summary>One Prometheus scrape of a server's <c>/metrics</c>: the text, and its samples by name and labels.</summary>
public sealed partial class Scrape
{
    Scrape(string text)
    {
        Text = text;
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
                continue;
            var match = Sample().Match(line);
            if (!match.Success)
                continue;
            if (!double.TryParse(match.Groups["value"].Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                continue;
            var labels = Label().Matches(match.Groups["labels"].Value).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
            Samples.Add((match.Groups["name"].Value, labels, value));
        }
    }

    public string Text { get; }

    public List<(string Name, Dictionary<string, string> Labels, double Value)> Samples { get; } = [];

    /// <summary>The sum of the samples named <paramref name="name"/> whose labels include every <c>key=value</c> given.</summary>
    public double Value(string name, params string[] labels) =>
        Samples.Where(s => s.Name == name && labels.All(l => l.Split('=', 2) is [var k, var v] && s.Labels.GetValueOrDefault(k) == v)).Sum(s => s.Value);

    public bool Has(string name) => Samples.Any(s => s.Name == name);

    /// <summary>Scrapes the server's Management endpoint (HTTP/1.1), where /metrics is served.</summary>
    public static async Task<Scrape> OfAsync(IdentityServer server)
    {
        var (status, text) = await GetAsync(server);
        Assert.Equal(HttpStatusCode.OK, status);
        return new Scrape(text);
    }

    public static async Task<(HttpStatusCode Status, string Text)> GetAsync(IdentityServer server)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, server.ManagementAddress + "/metrics");
        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)""")]
    private static partial Regex Sample();

    [GeneratedRegex("""([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)""")]
    private static partial Regex Label();
}
