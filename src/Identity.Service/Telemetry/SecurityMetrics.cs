using System.Diagnostics;
using System.Diagnostics.Metrics;
using Grpc.Core;
using Identity.Service.Security;
using Identity.V1;

namespace Identity.Service.Telemetry;

/// <summary>
/// The <c>identity.security</c> meter: refused calls by the caller's role and the RPC (never by client, key or name),
/// and how often the client registry is read from the store.
/// </summary>
public sealed class SecurityMetrics
{
    public const string MeterName = "identity.security";
    public const string Refused = "identity.calls.refused";
    public const string ClientLoads = "identity.clients.loads";

    /// <summary>The role label of a call that named no valid key.</summary>
    public const string NoRole = "none";

    readonly Counter<long> refused;
    readonly Counter<long> clientLoads;

    public SecurityMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        refused = meter.CreateCounter<long>(Refused, "{call}",
            "Calls refused before their handler ran or by a store check, by role, rpc and reason (permission_denied, rate_limited, unauthenticated).");
        clientLoads = meter.CreateCounter<long>(ClientLoads, "{load}", "Reads of the active clients from the store.");
    }

    public void ClientsLoaded() => clientLoads.Add(1);

    public void CallRefused(ClientRole? role, string rpc, StatusCode outcome)
    {
        if (!refused.Enabled)
            return;
        var reason = outcome switch
        {
            StatusCode.PermissionDenied => "permission_denied",
            StatusCode.ResourceExhausted => "rate_limited",
            StatusCode.Unauthenticated => "unauthenticated",
            _ => "other",
        };
        // Only the contract's methods are labels: a path a caller made up would be a label per request.
        var method = AccessRules.All.ContainsKey(rpc) ? rpc : "other";
        refused.Add(1, new TagList { { "role", RoleName(role) }, { "rpc", method }, { "reason", reason } });
    }

    static string RoleName(ClientRole? role) => role switch
    {
        null => NoRole,
        ClientRole.Pos => "pos",
        ClientRole.Miniprogram => "miniprogram",
        ClientRole.Partner => "partner",
        ClientRole.Admin => "admin",
        _ => "other",
    };
}
