using Grpc.AspNetCore.Server;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace Identity.Service.Security;

/// <summary>
/// Answers refused calls as gRPC does: UNAUTHENTICATED for a missing, unknown or revoked key, PERMISSION_DENIED (counted
/// in the audit trail) for a role the RPC's rule does not list. Allowed calls go on to the rate limit and the handler.
/// </summary>
public sealed class RpcAccessResults(AuditTrail audit, Telemetry.SecurityMetrics metrics) : IAuthorizationMiddlewareResultHandler
{
    readonly AuthorizationMiddlewareResultHandler fallback = new();

    public Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Succeeded)
            return next(context);
        var method = context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method.FullName;
        if (method is null)
            return fallback.HandleAsync(next, context, policy, authorizeResult);
        if (ApiKeyAuthentication.FailedOnStore(context))
            return GrpcStatusReply.WriteAsync(context, StatusCode.Unavailable, Errors.ErrorReasons.StoreBusy, ApiKeyAuthentication.ChallengeMessage(context),
                new Google.Rpc.RetryInfo { RetryDelay = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(1)) });
        if (authorizeResult.Challenged || context.Features.Get<Caller>() is not { } caller)
        {
            metrics.CallRefused(null, method, StatusCode.Unauthenticated);
            return GrpcStatusReply.WriteAsync(context, StatusCode.Unauthenticated, "UNAUTHENTICATED", ApiKeyAuthentication.ChallengeMessage(context));
        }

        audit.CountRefusal(caller, method, StatusCode.PermissionDenied);
        var reason = authorizeResult.AuthorizationFailure?.FailureReasons.FirstOrDefault()?.Message ?? $"This client may not call {method}.";
        return GrpcStatusReply.WriteAsync(context, StatusCode.PermissionDenied, "PERMISSION_DENIED", reason);
    }
}
