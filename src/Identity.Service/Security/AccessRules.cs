using Google.Protobuf;
using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;
using Identity.V1;

namespace Identity.Service.Security;

/// <summary>
/// Who may call what: one rule per RPC. <see cref="AccessRule.Scope"/> narrows a role to its stores or channel and
/// returns why a request is out of scope. Writes by admins and every partner call are audited.
/// </summary>
public sealed record AccessRule(IReadOnlySet<ClientRole> Roles, bool Write, Func<IMessage, Caller, string?>? Scope = null);

public static class AccessRules
{
    static readonly ClientRole[] Pos = [ClientRole.Pos];
    static readonly ClientRole[] App = [ClientRole.Miniprogram];
    static readonly ClientRole[] PosAndApp = [ClientRole.Pos, ClientRole.Miniprogram];
    static readonly ClientRole[] AdminOnly = [];

    /// <summary>Rules keyed by gRPC method path, e.g. <c>/identity.v1.MemberService/ResolveMember</c>.</summary>
    public static IReadOnlyDictionary<string, AccessRule> All { get; } = Build();

    /// <summary>Health checks and reflection answer anyone: load balancers and tools call them without keys.</summary>
    public static bool IsOpen(string method) =>
        method.StartsWith("/grpc.health.v1.", StringComparison.Ordinal) || method.StartsWith("/grpc.reflection.", StringComparison.Ordinal);

    static Dictionary<string, AccessRule> Build()
    {
        var rules = new Dictionary<string, AccessRule>(StringComparer.Ordinal);
        void Add(ServiceDescriptor service, string method, ClientRole[] roles, bool write, Func<IMessage, Caller, string?>? scope = null)
        {
            var descriptor = service.FindMethodByName(method) ?? throw new InvalidOperationException($"{service.FullName} has no method {method}");
            // Admins may do everything.
            rules.Add($"/{service.FullName}/{descriptor.Name}", new AccessRule(roles.Append(ClientRole.Admin).ToHashSet(), write, scope));
        }

        var members = MemberService.Descriptor;
        Add(members, "EnrollMember", PosAndApp, write: true, (m, c) => m is EnrollMemberRequest r
            ? StoreScope(c, r.Source?.StoreId) ?? ChannelScope(c, r.ChannelIdentity?.Channel ?? r.Source?.Channel)
            : null);
        Add(members, "ResolveMember", PosAndApp, write: false, (m, c) => m is ResolveMemberRequest { KeyCase: ResolveMemberRequest.KeyOneofCase.ChannelIdentity } r
            ? ChannelScope(c, r.ChannelIdentity.Channel)
            : null);
        Add(members, "BindChannelIdentity", App, write: true, (m, c) => m is BindChannelIdentityRequest r ? ChannelScope(c, r.ChannelIdentity?.Channel) : null);
        Add(members, "UpdateProfile", App, write: true);
        Add(members, "ChangePhone", AdminOnly, write: true);
        Add(members, "MergeMembers", AdminOnly, write: true);
        Add(members, "GetMergeHistory", AdminOnly, write: false);
        Add(members, "EraseMember", AdminOnly, write: true);
        Add(members, "SetConsent", App, write: true, (m, c) => m is SetConsentRequest r ? ChannelScope(c, r.Channel) : null);

        var loyalty = LoyaltyService.Descriptor;
        Add(loyalty, "GetProgram", PosAndApp, write: false);
        Add(loyalty, "PublishProgram", AdminOnly, write: true);
        Add(loyalty, "GetBenefits", PosAndApp, write: false);
        Add(loyalty, "RecordOrder", Pos, write: true, (m, c) => m is RecordOrderRequest r ? StoreScope(c, r.StoreId) : null);
        Add(loyalty, "RecordRefund", Pos, write: true);
        Add(loyalty, "RedeemPoints", App, write: true);
        Add(loyalty, "AdjustPoints", AdminOnly, write: true);
        Add(loyalty, "CheckIn", App, write: true, (m, c) => m is CheckInRequest r ? ChannelScope(c, r.Channel) : null);
        Add(loyalty, "PurchaseMembership", App, write: true);
        Add(loyalty, "GetPointsAccount", App, write: false);
        Add(loyalty, "ListPointsEntries", App, write: false);
        Add(loyalty, "RunMaintenance", AdminOnly, write: true);
        Add(loyalty, "VerifyLedger", AdminOnly, write: false);

        var partners = PartnerService.Descriptor;
        Add(partners, "CheckMembership", [ClientRole.Partner], write: false);
        Add(partners, "RecordPartnerOrder", [ClientRole.Partner], write: true);

        var admin = AdminService.Descriptor;
        Add(admin, "CreateClient", AdminOnly, write: true);
        Add(admin, "ListClients", AdminOnly, write: false);
        Add(admin, "RevokeClient", AdminOnly, write: true);
        Add(admin, "ListAuditEvents", AdminOnly, write: false);
        return rules;
    }

    /// <summary>A POS client with stores may only act for one of them, and must say which.</summary>
    static string? StoreScope(Caller caller, string? storeId) =>
        caller.Role == ClientRole.Pos && caller.Stores.Count > 0 && (string.IsNullOrEmpty(storeId) || !caller.Stores.Contains(storeId))
            ? "this POS client may only act for its own stores; name one of them in the request"
            : null;

    /// <summary>A mini-program client may only use its own channel's identities (and the WeChat unionid).</summary>
    static string? ChannelScope(Caller caller, Channel? channel) =>
        caller.Role == ClientRole.Miniprogram && channel is { } c && c != Channel.Unspecified && c != caller.Channel && c != Channel.WechatUnion
            ? $"this client may only act for its own channel ({caller.Channel})"
            : null;
}
