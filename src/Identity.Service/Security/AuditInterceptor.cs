using Google.Protobuf;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Identity.Service.Errors;
using Identity.V1;

namespace Identity.Service.Security;

/// <summary>
/// Audits what must be audited once a call has passed authentication, authorization and the rate limit: every partner
/// call and every admin write, one row each with its outcome; and PERMISSION_DENIED raised by a handler (a store the
/// caller does not own), counted like the other refusals.
/// </summary>
public sealed class AuditInterceptor(AuditTrail audit) : Interceptor
{
    public const string AuditMemberKey = "identity.audit-member";

    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var caller = context.GetHttpContext().Features.Get<Caller>();
        if (caller is null)
            return await continuation(request, context); // health and reflection
        var audited = caller.Role == ClientRole.Partner
                      || (caller.Role == ClientRole.Admin && AccessRules.All.GetValueOrDefault(context.Method) is { Write: true });
        try
        {
            var response = await continuation(request, context);
            if (audited)
                audit.Record(caller, context.Method, AuditMember(context, request, response), StatusCode.OK);
            return response;
        }
        catch (Exception exception)
        {
            var outcome = exception switch
            {
                RpcException rpc => rpc.StatusCode,
                IdentityException identity => identity.Code,
                OperationCanceledException => StatusCode.Cancelled,
                _ => StatusCode.Internal,
            };
            if (outcome == StatusCode.PermissionDenied)
                audit.CountRefusal(caller, context.Method, outcome);
            else if (audited)
                audit.Record(caller, context.Method, AuditMember(context, request, null), outcome);
            throw;
        }
    }

    /// <summary>A streaming admin write (an import) is one audit row for the whole stream, with its outcome.</summary>
    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var caller = context.GetHttpContext().Features.Get<Caller>();
        var audited = caller is not null
                      && (caller.Role == ClientRole.Partner || (caller.Role == ClientRole.Admin && AccessRules.All.GetValueOrDefault(context.Method) is { Write: true }));
        try
        {
            await continuation(requestStream, responseStream, context);
            if (audited)
                audit.Record(caller!, context.Method, null, StatusCode.OK);
        }
        catch (Exception exception)
        {
            var outcome = exception switch
            {
                RpcException rpc => rpc.StatusCode,
                IdentityException identity => identity.Code,
                OperationCanceledException => StatusCode.Cancelled,
                _ => StatusCode.Internal,
            };
            if (audited)
                audit.Record(caller!, context.Method, null, outcome);
            throw;
        }
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
}
