using System.Security.Claims;
using Grpc.AspNetCore.Server;
using Grpc.Core;
using Identity.Service.Security;
using Identity.V1;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;

namespace Identity.UnitTests.Errors;

/// <summary>The per-RPC policy: a method without a rule is closed to everyone, admins included.</summary>
public sealed class RpcAccessTests
{
    static readonly Caller Admin = new("c1", "ops", ClientRole.Admin, new HashSet<string>(), Channel.Unspecified, 0);
    static readonly Caller Pos = new("c2", "till", ClientRole.Pos, new HashSet<string> { "S001" }, Channel.Unspecified, 0);

    static async Task<bool> AllowedAsync(string service, string method, Caller caller)
    {
        var http = new DefaultHttpContext();
        http.Features.Set(caller);
        var grpcMethod = new Method<GetProgramRequest, GetProgramResponse>(MethodType.Unary, service, method,
            Marshallers.Create<GetProgramRequest>(_ => [], _ => new GetProgramRequest()), Marshallers.Create<GetProgramResponse>(_ => [], _ => new GetProgramResponse()));
        http.SetEndpoint(new Endpoint(_ => Task.CompletedTask, new EndpointMetadataCollection(new GrpcMethodMetadata(typeof(object), grpcMethod)), method));
        var requirement = new RpcAccessRequirement();
        var context = new AuthorizationHandlerContext([requirement], new ClaimsPrincipal(new ClaimsIdentity("test")), http);
        await new RpcAccessHandler().HandleAsync(context);
        return context.HasSucceeded;
    }

    [Fact]
    public async Task A_new_rpc_without_a_rule_is_refused_even_to_an_admin()
    {
        Assert.False(await AllowedAsync("identity.v1.MemberService", "ForgetEverything", Admin));
        Assert.Contains("no access rule", RpcAccessHandler.Decide("/identity.v1.MemberService/ForgetEverything", Admin), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Roles_are_decided_by_the_rule()
    {
        Assert.True(await AllowedAsync("identity.v1.LoyaltyService", "GetProgram", Pos));
        Assert.True(await AllowedAsync("identity.v1.MemberService", "EraseMember", Admin));
        Assert.False(await AllowedAsync("identity.v1.MemberService", "EraseMember", Pos));
    }
}
