using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Microsoft.AspNetCore.Grpc.JsonTranscoding;

namespace Identity.Service.Errors;

/// <summary>
/// Errors on the Http endpoint: a <c>google.rpc.Status</c> as JSON, with details, under the HTTP status that
/// google.api.http mapping gives the gRPC code (the same table JSON transcoding uses for handler errors).
/// </summary>
public static class JsonErrors
{
    /// <summary>The detail types errors carry, so JSON can name them (<c>@type</c>) and spell their fields.</summary>
    public static TypeRegistry Details { get; } = TypeRegistry.FromFiles(Google.Rpc.ErrorDetailsReflection.Descriptor);

    static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithTypeRegistry(Details));

    /// <summary>True for a call that arrived as JSON on a transcoded route.</summary>
    public static bool IsJsonCall(HttpContext context) =>
        context.GetEndpoint()?.Metadata.GetMetadata<GrpcJsonTranscodingMetadata>() is not null;

    /// <summary>Writes the status, under <paramref name="httpStatus"/> when given, else the one its gRPC code maps to.</summary>
    public static Task WriteAsync(HttpContext context, Google.Rpc.Status status, int? httpStatus = null)
    {
        var response = context.Response;
        response.StatusCode = httpStatus ?? HttpStatus((StatusCode)status.Code);
        response.ContentType = "application/json; charset=utf-8";
        if (status.Code == (int)StatusCode.Unauthenticated)
            response.Headers.WWWAuthenticate = "Bearer";
        if (status.Details.FirstOrDefault(d => d.Is(Google.Rpc.RetryInfo.Descriptor))?.Unpack<Google.Rpc.RetryInfo>() is { RetryDelay: { } delay })
            response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(delay.ToTimeSpan().TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        // Compact, as JSON transcoding writes handler errors.
        return response.WriteAsync(System.Text.Json.Nodes.JsonNode.Parse(Formatter.Format(status))!.ToJsonString(), context.RequestAborted);
    }

    public static int HttpStatus(StatusCode code) => code switch
    {
        StatusCode.OK => StatusCodes.Status200OK,
        StatusCode.Cancelled => 499, // client closed request
        StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.OutOfRange => StatusCodes.Status400BadRequest,
        StatusCode.DeadlineExceeded => StatusCodes.Status504GatewayTimeout,
        StatusCode.NotFound => StatusCodes.Status404NotFound,
        StatusCode.AlreadyExists or StatusCode.Aborted => StatusCodes.Status409Conflict,
        StatusCode.PermissionDenied => StatusCodes.Status403Forbidden,
        StatusCode.Unauthenticated => StatusCodes.Status401Unauthorized,
        StatusCode.ResourceExhausted => StatusCodes.Status429TooManyRequests,
        StatusCode.Unimplemented => StatusCodes.Status501NotImplemented,
        StatusCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        _ => StatusCodes.Status500InternalServerError,
    };
}
