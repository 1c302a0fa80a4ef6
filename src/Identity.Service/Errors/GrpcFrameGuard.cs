using System.Buffers;
using System.Buffers.Binary;
using Google.Protobuf;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Identity.Service.Errors;

/// <summary>
/// Checks a unary call's gRPC framing (5-byte header: compressed flag and length, then exactly that many bytes) before
/// grpc-dotnet reads it. grpc-dotnet answers a broken frame with INTERNAL (incomplete message, data after the message,
/// a compressed message without grpc-encoding) or UNKNOWN plus an error-level stack trace (a flag other than 0 or 1, a
/// corrupt compressed payload); all of these are the caller's bytes, so they are INVALID_ARGUMENT here. The body is
/// only peeked, never consumed; a well-formed call goes on unchanged.
/// </summary>
public sealed class GrpcFrameGuard(RequestDelegate next, IOptions<GrpcServiceOptions> grpcOptions, MalformedRequestLog log)
{
    const int HeaderSize = 5;

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>() is not { Method.Type: MethodType.Unary } grpc
            || !HttpMethods.IsPost(context.Request.Method)
            || context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) != true
            || context.Request.ContentType.StartsWith("application/grpc-web", StringComparison.OrdinalIgnoreCase))
        {
            await next(context);
            return;
        }

        string? problem;
        try
        {
            problem = await InspectAsync(context, Hosting.IdentityApp.MaxRequestBytes(grpc.Method.ServiceName));
        }
        catch (Exception exception) when (exception is IOException or OperationCanceledException or BadHttpRequestException)
        {
            return; // the client went away mid-request: there is no one to answer
        }
        if (problem is null)
        {
            await next(context);
            return;
        }

        log.Refused("frame", grpc.Method.FullName, problem);
        var status = MalformedRequests.ToStatus($"The request is not a valid gRPC message: {problem}.", field: null, description: null);
        // A trailers-only response: the status travels in the response headers.
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "application/grpc";
        context.Response.Headers["grpc-status"] = ((int)StatusCode.InvalidArgument).ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Response.Headers["grpc-message"] = status.Message; // plain ASCII: nothing to percent-encode
        context.Response.Headers["grpc-status-details-bin"] = Convert.ToBase64String(status.ToByteArray());
    }

    /// <summary>Peeks at the whole request (it is at most one message long) and says what is wrong, or null.</summary>
    async Task<string?> InspectAsync(HttpContext context, int maxMessage)
    {
        var reader = context.Request.BodyReader;
        var header = new byte[HeaderSize];
        while (true)
        {
            var result = await reader.ReadAsync(context.RequestAborted);
            var buffer = result.Buffer;
            string? problem = null;
            var decided = false;
            if (buffer.Length >= HeaderSize)
            {
                buffer.Slice(0, HeaderSize).CopyTo(header);
                var length = BinaryPrimitives.ReadUInt32BigEndian(header.AsSpan(1));
                if (header[0] > 1)
                    (problem, decided) = ($"the compressed flag is {header[0]} (only 0 or 1 are defined)", true);
                else if (length > maxMessage)
                    decided = true; // too large: grpc-dotnet answers RESOURCE_EXHAUSTED from the header alone
                else if (buffer.Length > HeaderSize + length)
                    (problem, decided) = ("there is data after the message", true);
                else if (result.IsCompleted && buffer.Length < HeaderSize + length)
                    (problem, decided) = ($"the frame declares {length} bytes but carries {buffer.Length - HeaderSize}", true);
                else if (result.IsCompleted && header[0] == 1)
                    (problem, decided) = (CheckCompressed(context, buffer.Slice(HeaderSize), maxMessage), true);
                else if (result.IsCompleted)
                    decided = true;
            }
            else if (result.IsCompleted)
            {
                (problem, decided) = (buffer.IsEmpty ? "the request carries no message" : "the frame header is incomplete", true);
            }

            if (decided)
            {
                reader.AdvanceTo(buffer.Start); // nothing consumed: grpc-dotnet reads the same bytes
                return problem;
            }
            reader.AdvanceTo(buffer.Start, buffer.End); // wait for more
        }
    }

    /// <summary>A compressed message needs a grpc-encoding this server knows, and must decompress.</summary>
    string? CheckCompressed(HttpContext context, ReadOnlySequence<byte> payload, int maxMessage)
    {
        var encoding = context.Request.Headers["grpc-encoding"].ToString();
        if (encoding.Length == 0 || encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
            return "the message is flagged compressed but the request names no grpc-encoding";
        var provider = grpcOptions.Value.CompressionProviders.FirstOrDefault(p => p.EncodingName.Equals(encoding, StringComparison.OrdinalIgnoreCase));
        if (provider is null)
            return null; // grpc-dotnet answers UNIMPLEMENTED with the encodings it supports
        try
        {
            using var decompressed = provider.CreateDecompressionStream(new MemoryStream(payload.ToArray()));
            var chunk = new byte[16 * 1024];
            long total = 0;
            int read;
            while ((read = decompressed.Read(chunk)) > 0)
            {
                total += read;
                if (total > maxMessage)
                    return null; // grpc-dotnet answers RESOURCE_EXHAUSTED
            }
            return null;
        }
        catch (InvalidDataException)
        {
            return $"the message does not decompress as {provider.EncodingName}";
        }
    }
}
