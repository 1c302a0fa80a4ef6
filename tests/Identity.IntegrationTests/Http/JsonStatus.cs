using System.Net;
using System.Text.Json.Nodes;

namespace Identity.IntegrationTests.Http;

/// <summary>Assertions on a <c>google.rpc.Status</c> JSON error.</summary>
public static class JsonStatus
{
    public static JsonNode Fails(this (HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response) reply, HttpStatusCode http, Grpc.Core.StatusCode code)
    {
        Assert.True(reply.Status == http, $"expected {(int)http}, got {(int)reply.Status}: {reply.Body?.ToJsonString()}");
        Assert.StartsWith("application/json", reply.Response.Content.Headers.ContentType?.ToString());
        var body = reply.Body ?? throw new InvalidOperationException("no body");
        Assert.Equal((int)code, (int)body["code"]!);
        Assert.False(string.IsNullOrEmpty((string?)body["message"]));
        return body;
    }

    public static string? Reason(this JsonNode status) =>
        (string?)status["details"]?.AsArray().FirstOrDefault(d => (string?)d!["@type"] == "type.googleapis.com/google.rpc.ErrorInfo")?["reason"];

    public static IReadOnlyList<string> BadFields(this JsonNode status) =>
        status["details"]?.AsArray().Where(d => (string?)d!["@type"] == "type.googleapis.com/google.rpc.BadRequest")
            .SelectMany(d => d!["fieldViolations"]!.AsArray().Select(v => (string)v!["field"]!)).ToList() ?? [];
}
