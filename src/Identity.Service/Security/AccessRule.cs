using Identity.V1;

namespace Identity.Service.Security;

/// <summary>The roles that may call one RPC, and whether it writes (admin writes and every partner call are audited).</summary>
public sealed record AccessRule(IReadOnlySet<ClientRole> Roles, bool Write);
