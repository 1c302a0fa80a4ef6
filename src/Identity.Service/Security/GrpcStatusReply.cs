using System.Text;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Identity.Service.Errors;

namespace Identity.Service.Security;

/// <summary>
/// Answers a gRPC call before it reaches a handler (authentication, authorization, rate limit): a trailers-only
/// response carrying the status, its message and AIP-193 details, as any gRPC client expects; on a JSON call, the same
/// status as JSON under its HTTP status.
/// </summary>
public static class GrpcStatusReply
{
    public static async Task WriteAsync(HttpContext context, StatusCode code, string reason, string message, IMessage? detail = null)
    {
        await DrainAsync(context);
        var status = new Google.Rpc.Status { Code = (int)code, Message = message };
        if (detail is not null)
            status.Details.Add(Any.Pack(detail));
        status.Details.Add(Any.Pack(new ErrorInfo { Reason = reason, Domain = ErrorReasons.Domain }));
        if (JsonErrors.IsJsonCall(context))
        {
            await JsonErrors.WriteAsync(context, status);
            return;
        }

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture);
        response.Headers["grpc-message"] = PercentEncode(message);
        response.Headers["grpc-status-details-bin"] = Convert.ToBase64String(status.ToByteArray()).TrimEnd('=');
        await response.CompleteAsync();
    }

    /// <summary>
    /// Reads the rest of a small request before answering. A stream answered before its request was fully sent stays
    /// open on the connection until the client finishes it, and Kestrel answers a connection with too many such streams
    /// with ENHANCE_YOUR_CALM, which clients see as RESOURCE_EXHAUSTED. Requests are at most
    /// <see cref="Hosting.IdentityApp.MaxReceiveMessageBytes"/>; a larger one is not drained.
    /// </summary>
    static async Task DrainAsync(HttpContext context)
    {
        var reader = context.Request.BodyReader;
        long seen = 0;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(context.RequestAborted);
                seen += result.Buffer.Length;
                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled || seen > Hosting.IdentityApp.MaxReceiveMessageBytes + 5)
                    return;
            }
        }
        catch (Exception exception) when (exception is IOException or OperationCanceledException or BadHttpRequestException)
        {
            // The client went away: nothing to drain.
        }
    }

    public static RpcException Exception(StatusCode code, string reason, string message, IMessage? detail = null)
    {
        var status = new Google.Rpc.Status { Code = (int)code, Message = message };
        if (detail is not null)
            status.Details.Add(Any.Pack(detail));
        status.Details.Add(Any.Pack(new ErrorInfo { Reason = reason, Domain = ErrorReasons.Domain }));
        return status.ToRpcException();
    }

    /// <summary>The gRPC spec's percent-encoding of grpc-message: printable ASCII but '%' as is, everything else as UTF-8 %XX.</summary>
    static string PercentEncode(string message)
    {
        var builder = new StringBuilder(message.Length);
        foreach (var b in Encoding.UTF8.GetBytes(message))
        {
            if (b is >= 0x20 and <= 0x7E && b != (byte)'%')
                builder.Append((char)b);
            else
                builder.Append('%').Append(b.ToString("X2", System.Globalization.CultureInfo.InvariantCulture));
        }
        return builder.ToString();
    }
}
