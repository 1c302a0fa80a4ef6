using System.Threading.RateLimiting;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.AspNetCore.Server;
using Grpc.Core;

namespace Identity.Service.Security;

/// <summary>
/// After authorization: takes one token from the caller's own bucket. Over the limit is RESOURCE_EXHAUSTED with
/// RetryInfo (never UNAVAILABLE, which clients retry blindly), counted in the audit trail, and costs no store access.
/// </summary>
public sealed class CallerRateLimiting(RequestDelegate next, CallerRateLimiter limiter, AuditTrail audit)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (context.Features.Get<Caller>() is not { } caller)
            return next(context);
        using var lease = limiter.Acquire(caller);
        if (lease.IsAcquired)
            return next(context);

        var method = context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method.FullName ?? context.Request.Path.Value ?? "";
        audit.CountRefusal(caller, method, StatusCode.ResourceExhausted);
        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromMilliseconds(100);
        return GrpcStatusReply.WriteAsync(context, StatusCode.ResourceExhausted, "RATE_LIMITED",
            $"This client is over its request rate; retry after {retryAfter.TotalMilliseconds:0} ms.",
            new RetryInfo { RetryDelay = Duration.FromTimeSpan(retryAfter) });
    }
}
