using ServiceDescriptor = Google.Protobuf.Reflection.ServiceDescriptor;
using Identity.V1;

namespace Identity.Service.Security;

/// <summary>
/// Who may call what: one rule per RPC, the roles that may call it (admins may call everything). What a call may
/// touch (its stores, its members) is decided by the handlers on what the call resolves to, never on request fields
/// alone.
/// </summary>
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
        void Add(ServiceDescriptor service, string method, ClientRole[] roles, bool write)
        {
            var descriptor = service.FindMethodByName(method) ?? throw new InvalidOperationException($"{service.FullName} has no method {method}");
            rules.Add($"/{service.FullName}/{descriptor.Name}", new AccessRule(roles.Append(ClientRole.Admin).ToHashSet(), write));
        }

        var members = MemberService.Descriptor;
        Add(members, "EnrollMember", PosAndApp, write: true);
        Add(members, "ResolveMember", PosAndApp, write: false);
        Add(members, "BindChannelIdentity", App, write: true);
        Add(members, "UpdateProfile", App, write: true);
        Add(members, "ChangePhone", AdminOnly, write: true);
        Add(members, "MergeMembers", AdminOnly, write: true);
        Add(members, "GetMergeHistory", AdminOnly, write: false);
        Add(members, "EraseMember", AdminOnly, write: true);
        Add(members, "SetConsent", App, write: true);

        var loyalty = LoyaltyService.Descriptor;
        Add(loyalty, "GetProgram", PosAndApp, write: false);
        Add(loyalty, "PublishProgram", AdminOnly, write: true);
        Add(loyalty, "GetBenefits", PosAndApp, write: false);
        Add(loyalty, "RecordOrder", Pos, write: true);
        Add(loyalty, "RecordOrders", Pos, write: true);
        Add(loyalty, "RecordRefund", Pos, write: true);
        Add(loyalty, "RedeemPoints", App, write: true);
        Add(loyalty, "AdjustPoints", AdminOnly, write: true);
        Add(loyalty, "CheckIn", App, write: true);
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

        var import = ImportService.Descriptor;
        Add(import, "ImportMembers", AdminOnly, write: true);
        Add(import, "GetImport", AdminOnly, write: false);
        return rules;
    }
}
