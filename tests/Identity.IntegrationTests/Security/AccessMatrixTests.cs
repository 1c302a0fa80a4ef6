using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;

namespace Identity.IntegrationTests.Security;

/// <summary>
/// The role x RPC matrix, checked through the real server for every method of every service in the contract. The
/// expected table is written out here (it is the product's promise, also in the README); a new RPC without a row fails.
/// </summary>
public sealed class AccessMatrixTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    const string P = "pos", M = "miniprogram", Partner = "partner", A = "admin";

    static readonly Dictionary<string, string[]> Expected = new()
    {
        ["MemberService/EnrollMember"] = [P, M, A],
        ["MemberService/ResolveMember"] = [P, M, A],
        ["MemberService/BindChannelIdentity"] = [M, A],
        ["MemberService/UpdateProfile"] = [M, A],
        ["MemberService/ChangePhone"] = [A],
        ["MemberService/MergeMembers"] = [A],
        ["MemberService/GetMergeHistory"] = [A],
        ["MemberService/EraseMember"] = [A],
        ["MemberService/SetConsent"] = [M, A],
        ["LoyaltyService/GetProgram"] = [P, M, A],
        ["LoyaltyService/PublishProgram"] = [A],
        ["LoyaltyService/GetBenefits"] = [P, M, A],
        ["LoyaltyService/RecordOrder"] = [P, A],
        ["LoyaltyService/RecordOrders"] = [P, A],
        ["LoyaltyService/RecordRefund"] = [P, A],
        ["LoyaltyService/RedeemPoints"] = [M, A],
        ["LoyaltyService/AdjustPoints"] = [A],
        ["LoyaltyService/CheckIn"] = [M, A],
        ["LoyaltyService/PurchaseMembership"] = [M, A],
        ["LoyaltyService/GetPointsAccount"] = [M, A],
        ["LoyaltyService/ListPointsEntries"] = [M, A],
        ["LoyaltyService/RunMaintenance"] = [A],
        ["LoyaltyService/VerifyLedger"] = [A],
        ["PartnerService/CheckMembership"] = [Partner, A],
        ["PartnerService/RecordPartnerOrder"] = [Partner, A],
        ["AdminService/CreateClient"] = [A],
        ["AdminService/ListClients"] = [A],
        ["AdminService/RevokeClient"] = [A],
        ["AdminService/ListAuditEvents"] = [A],
        ["ImportService/ImportMembers"] = [A],
        ["ImportService/GetImport"] = [A],
    };

    [Fact]
    public void Every_rpc_of_the_contract_has_a_row_in_the_matrix_and_a_rule_in_the_server()
    {
        foreach (var method in DynamicCall.ContractMethods())
        {
            var name = $"{method.Service.Name}/{method.Name}";
            Assert.True(Expected.ContainsKey(name), $"{name} has no row in the access matrix: decide which roles may call it");
            Assert.True(Identity.Service.Security.AccessRules.All.ContainsKey($"/{method.Service.FullName}/{method.Name}"), $"{name} has no access rule in the server");
        }
    }

    [Fact]
    public async Task Each_role_may_call_exactly_its_rpcs()
    {
        var server = fixture.Server;
        var keys = new Dictionary<string, string>
        {
            [P] = await server.CreateClientAsync("matrix-pos", ClientRole.Pos),
            [M] = await server.CreateClientAsync("matrix-app", ClientRole.Miniprogram, Channel.WechatMiniProgram),
            [Partner] = await server.CreateClientAsync("matrix-partner", ClientRole.Partner),
            [A] = await server.CreateClientAsync("matrix-admin", ClientRole.Admin),
        };

        var wrong = new List<string>();
        foreach (var method in DynamicCall.ContractMethods())
        {
            var name = $"{method.Service.Name}/{method.Name}";
            foreach (var (role, key) in keys)
            {
                var status = await CallAsync(server.WithKey(key), method);
                var allowed = Expected[name].Contains(role);
                if (allowed == (status is StatusCode.PermissionDenied or StatusCode.Unauthenticated))
                    wrong.Add($"{role} -> {name}: {status}");
            }
            // No key at all is always refused.
            var anonymous = await CallAsync(server.Channel.CreateCallInvoker(), method);
            if (anonymous != StatusCode.Unauthenticated)
                wrong.Add($"anonymous -> {name}: {anonymous}");
        }
        Assert.Empty(wrong);
    }

    /// <summary>Calls any method with an empty request and returns the status (OK included).</summary>
    static async Task<StatusCode> CallAsync(CallInvoker invoker, MethodDescriptor method)
    {
        var marshaller = Marshallers.Create<IMessage>(m => m.ToByteArray(), _ => throw new NotSupportedException());
        var call = new Method<IMessage, byte[]>(MethodType.Unary, method.Service.FullName, method.Name, marshaller,
            Marshallers.Create(b => b, b => b));
        try
        {
            await invoker.AsyncUnaryCall(call, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(10)), method.InputType.Parser.ParseFrom([]));
            return StatusCode.OK;
        }
        catch (RpcException e)
        {
            return e.StatusCode;
        }
    }
}
