using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Authorization;

namespace Identity.Service.Security;

/// <summary>
/// Decides <see cref="RpcAccessRequirement"/> from the endpoint's gRPC method and <see cref="AccessRules"/>. A method
/// without a rule is refused to everyone, admins included, so a new RPC is closed until someone writes its rule.
/// Unary and streaming handlers alike are endpoints, so all are covered.
/// </summary>
public sealed class RpcAccessHandler : AuthorizationHandler<RpcAccessRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, RpcAccessRequirement requirement)
    {
        var http = context.Resource as HttpContext;
        var method = http?.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>()?.Method.FullName;
        var caller = http?.Features.Get<Caller>();
        if (method is null || caller is null)
            return Task.CompletedTask; // not authenticated, or not a gRPC method: the challenge answers
        var decision = Decide(method, caller);
        if (decision is null)
            context.Succeed(requirement);
        else
            context.Fail(new AuthorizationFailureReason(this, decision));
        return Task.CompletedTask;
    }

    /// <summary>Null when the caller may call the method; otherwise why not.</summary>
    public static string? Decide(string method, Caller caller) =>
        AccessRules.All.TryGetValue(method, out var rule)
            ? rule.Roles.Contains(caller.Role) ? null : $"The {caller.Role.ToString().ToLowerInvariant()} role may not call {method}."
            : $"{method} has no access rule; it is closed to every client.";
}
