using System.Net;
using System.Net.Http.Headers;
using Google.Rpc;

namespace Identity.IntegrationTests.Infrastructure;

/// <summary>Sends hand-made bytes as a gRPC call over HTTP/2 (prior knowledge) and reads the status the server gave.</summary>
public sealed class RawGrpc(string address, string key) : IDisposable
{
    readonly HttpClient http = new() { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(10) };

    public sealed record Outcome(int Status, string Message, Google.Rpc.Status? Details)
    {
        public string? Reason => Details?.Details.Select(d => d.TryUnpack<ErrorInfo>(out var info) ? info.Reason : null).FirstOrDefault(r => r is not null);

        public IReadOnlyList<string> BadFields =>
            Details?.Details.Where(d => d.Is(BadRequest.Descriptor)).SelectMany(d => d.Unpack<BadRequest>().FieldViolations.Select(v => v.Field)).ToList() ?? [];
    }

    /// <summary>A gRPC frame: the compressed flag, the big-endian length, the payload.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> payload, byte flag = 0, int? declaredLength = null)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = flag;
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(frame.AsSpan(1), declaredLength ?? payload.Length);
        payload.CopyTo(frame.AsSpan(5));
        return frame;
    }

    public async Task<Outcome> SendAsync(string method, byte[] body, string? encoding = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, method)
        {
            Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact, Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/grpc");
        request.Headers.TryAddWithoutValidation("te", "trailers");
        request.Headers.TryAddWithoutValidation("authorization", "Bearer " + key);
        if (encoding is not null)
            request.Headers.TryAddWithoutValidation("grpc-encoding", encoding);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await response.Content.ReadAsByteArrayAsync();
        string? Header(string name) =>
            response.TrailingHeaders.TryGetValues(name, out var t) ? t.First() : response.Headers.TryGetValues(name, out var h) ? h.First() : null;
        var status = int.Parse(Header("grpc-status") ?? throw new InvalidOperationException("no grpc-status"), System.Globalization.CultureInfo.InvariantCulture);
        var details = Header("grpc-status-details-bin") is { } bin ? Google.Rpc.Status.Parser.ParseFrom(Convert.FromBase64String(Pad(bin))) : null;
        return new Outcome(status, Uri.UnescapeDataString(Header("grpc-message") ?? ""), details);
    }

    static string Pad(string base64) => base64.PadRight(base64.Length + (4 - base64.Length % 4) % 4, '=');

    public void Dispose() => http.Dispose();
}
