using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Identity.IntegrationTests.Http;

/// <summary>HTTP/1.1 JSON calls to the Http endpoint, as a Node or PHP backend would make them.</summary>
public sealed class JsonClient(string address, string? key) : IDisposable
{
    readonly HttpClient http = new() { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(30) };

    public Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> SendAsync(HttpMethod method, string path, string? json = null) =>
        SendAsync(method, path, json is null ? null : Encoding.UTF8.GetBytes(json));

    /// <summary>A body of any bytes, sent as <c>application/json</c> (for bodies that are not UTF-8).</summary>
    public async Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> SendAsync(HttpMethod method, string path, byte[]? json,
        string charset = "utf-8")
    {
        using var request = new HttpRequestMessage(method, path) { Version = HttpVersion.Version11 };
        if (key is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        if (json is not null)
            request.Content = new ByteArrayContent(json) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") { CharSet = charset } } };
        var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? null : JsonNode.Parse(text), response);
    }

    public Task<(HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response)> PostAsync(string path, object body) =>
        SendAsync(HttpMethod.Post, path, System.Text.Json.JsonSerializer.Serialize(body));

    /// <summary>A call that must succeed: its JSON reply.</summary>
    public async Task<JsonNode> OkAsync(HttpMethod method, string path, object? body = null)
    {
        var (status, reply, _) = await SendAsync(method, path, body is null ? null : System.Text.Json.JsonSerializer.Serialize(body));
        Assert.True(status == HttpStatusCode.OK, $"{method} {path}: {(int)status} {reply?.ToJsonString()}");
        return reply!;
    }

    public void Dispose() => http.Dispose();
}
