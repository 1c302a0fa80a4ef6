using Microsoft.AspNetCore.Authorization;

namespace Identity.Service.Security;

/// <summary>The one policy every RPC endpoint requires: the caller's role appears in the RPC's rule.</summary>
public sealed class RpcAccessRequirement : IAuthorizationRequirement
{
    public const string Policy = "rpc-access";
}
