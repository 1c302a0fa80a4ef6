using System.Threading.RateLimiting;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Identity.Service.Errors;
using Identity.V1;

namespace Identity.Service.Security;

/// <summary>
/// Every call passes here: authenticate the key, apply the access rule (role, then scope), take a rate-limit token,
/// and audit what must be audited. Health and reflection are open.
/// </summary>
public sealed class CallerInterceptor(ClientRegistry registry, CallerRateLimiter limiter, AuditTrail audit) : Interceptor
{
    public const string CallerKey = "identity.caller";
    public const string AuditMemberKey = "identity.audit-member";

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        if (AccessRules.IsOpen(context.Method))
            return await continuation(request, context);

        var caller = await AuthenticateAsync(context);
        var rule = AccessRules.All.GetValueOrDefault(context.Method);
        var audited = caller.Role == ClientRole.Partner || (caller.Role == ClientRole.Admin && rule is { Write: true });
        try
        {
            if (rule is null || !rule.Roles.Contains(caller.Role))
                throw Denied($"The {RoleName(caller.Role)} role may not call {context.Method}.");
            if (rule.Scope?.Invoke((IMessage)request, caller) is { } outOfScope)
                throw Denied(outOfScope);
            using var lease = limiter.Acquire(caller);
            if (!lease.IsAcquired)
                throw Exhausted(lease);

            context.UserState[CallerKey] = caller;
            var response = await continuation(request, context);
            if (audited)
                await audit.RecordAsync(caller, context.Method, AuditMember(context, request, response), StatusCode.OK);
            return response;
        }
        catch (Exception exception) when (audited)
        {
            var outcome = exception switch
            {
                RpcException rpc => rpc.StatusCode,
                IdentityException identity => identity.Code,
                OperationCanceledException => StatusCode.Cancelled,
                _ => StatusCode.Internal,
            };
            await audit.RecordAsync(caller, context.Method, AuditMember(context, request, null), outcome);
            throw;
        }
    }

    async Task<Caller> AuthenticateAsync(ServerCallContext context)
    {
        var header = context.RequestHeaders.GetValue("authorization");
        if (header is null || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) || header.Length > 256)
            throw Unauthenticated("Send the client key as `authorization: Bearer <key>` metadata.");
        var caller = await registry.AuthenticateAsync(header["Bearer ".Length..].Trim(), context.CancellationToken);
        return caller ?? throw Unauthenticated("The key is unknown or revoked.");
    }

    /// <summary>The member a call concerned: set by the handler, else read from the reply or the request.</summary>
    static string? AuditMember(ServerCallContext context, object request, object? response) =>
        context.UserState.TryGetValue(AuditMemberKey, out var member) && member is string id
            ? id
            : MemberIdIn(response as IMessage) ?? MemberIdIn(request as IMessage);

    static string? MemberIdIn(IMessage? message)
    {
        if (message is null)
            return null;
        foreach (var name in (ReadOnlySpan<string>)["member_id", "survivor_member_id"])
            if (message.Descriptor.FindFieldByName(name)?.Accessor.GetValue(message) is string { Length: > 0 } id)
                return id;
        return message.Descriptor.FindFieldByName("member")?.Accessor.GetValue(message) is IMessage nested ? MemberIdIn(nested) : null;
    }

    static string RoleName(ClientRole role) => role.ToString().ToLowerInvariant();

    static RpcException Unauthenticated(string message) => Build(StatusCode.Unauthenticated, "UNAUTHENTICATED", message);

    static RpcException Denied(string message) => Build(StatusCode.PermissionDenied, "PERMISSION_DENIED", message);

    /// <summary>RESOURCE_EXHAUSTED with RetryInfo — never UNAVAILABLE, which clients retry blindly.</summary>
    static RpcException Exhausted(RateLimitLease lease)
    {
        var retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromMilliseconds(100);
        var status = new Google.Rpc.Status
        {
            Code = (int)StatusCode.ResourceExhausted,
            Message = $"This client is over its request rate; retry after {retryAfter.TotalMilliseconds:0} ms.",
        };
        status.Details.Add(Any.Pack(new RetryInfo { RetryDelay = Duration.FromTimeSpan(retryAfter) }));
        status.Details.Add(Any.Pack(new ErrorInfo { Reason = "RATE_LIMITED", Domain = ErrorReasons.Domain }));
        return status.ToRpcException();
    }

    static RpcException Build(StatusCode code, string reason, string message)
    {
        var status = new Google.Rpc.Status { Code = (int)code, Message = message };
        status.Details.Add(Any.Pack(new ErrorInfo { Reason = reason, Domain = ErrorReasons.Domain }));
        return status.ToRpcException();
    }
}
