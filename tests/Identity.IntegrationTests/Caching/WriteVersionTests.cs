using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;

namespace Identity.IntegrationTests.Caching;

/// <summary>
/// Every write RPC that changes a member bumps the member's snapshot version (member row + loyalty account), which is
/// what caches compare. The cases are listed per RPC of the contract: a new RPC without a case (or an explicit "touches
/// no member") fails the first test.
/// </summary>
public sealed class WriteVersionTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    IdentityServer Server => fixture.Server;

    /// <summary>A member enrolled with a phone and a mini-program identity, with one order on record.</summary>
    sealed record Subject(string MemberId, string Phone, string OpenId, string OrderId);

    /// <summary>Prepares what the write needs and returns the member whose version must grow, and the write.</summary>
    delegate Task<(string MemberId, Func<Task> Write)> Case(IdentityServer server, Subject subject);

    static readonly Dictionary<string, Case> Cases = new()
    {
        ["MemberService/EnrollMember"] = async (server, _) =>
        {
            // Enrolment that gives a phone-less member a phone.
            var openId = TestData.OpenId();
            var fan = (await server.Members.EnrollMemberAsync(TestData.EnrollFan(openId))).Member;
            return (fan.MemberId, async () => await server.Members.EnrollMemberAsync(new EnrollMemberRequest
            {
                Phone = TestData.Phone(), ChannelIdentity = TestData.MiniProgram(openId), Source = TestData.Pos(),
            }));
        },
        ["MemberService/BindChannelIdentity"] = (server, s) => Task.FromResult<(string, Func<Task>)>((s.MemberId, async () =>
            await server.Members.BindChannelIdentityAsync(new BindChannelIdentityRequest
            {
                MemberId = s.MemberId, ChannelIdentity = TestData.MiniProgram(TestData.OpenId()), Source = TestData.MiniProgramSource(),
            }))),
        ["MemberService/UpdateProfile"] = (server, s) => Task.FromResult<(string, Func<Task>)>((s.MemberId, async () =>
            await server.Members.UpdateProfileAsync(new UpdateProfileRequest { MemberId = s.MemberId, Profile = new Profile { Name = "张伟" } }))),
        ["MemberService/ChangePhone"] = (server, s) => Task.FromResult<(string, Func<Task>)>((s.MemberId, async () =>
            await server.Members.ChangePhoneAsync(new ChangePhoneRequest { MemberId = s.MemberId, NewPhone = TestData.Phone(), Source = TestData.Pos() }))),
        ["MemberService/MergeMembers"] = async (server, s) =>
        {
            var fan = (await server.Members.EnrollMemberAsync(TestData.EnrollFan(TestData.OpenId()))).Member;
            return (s.MemberId, async () => await server.Members.MergeMembersAsync(new MergeMembersRequest
            {
                SurvivorMemberId = s.MemberId, AbsorbedMemberId = fan.MemberId, Reason = "dup", Operator = "ops",
            }));
        },
        ["MemberService/EraseMember"] = (server, s) => Task.FromResult<(string, Func<Task>)>((s.MemberId, async () =>
            await server.Members.EraseMemberAsync(new EraseMemberRequest { MemberId = s.MemberId, ReasonCode = ErasureReason.MemberRequest }))),
        ["MemberService/SetConsent"] = (server, s) => Task.FromResult<(string, Func<Task>)>((s.MemberId, async () =>
            await server.Members.SetConsentAsync(new SetConsentRequest
            {
                MemberId = s.MemberId, Purpose = ConsentPurpose.PartnerSharing, Granted = true, Channel = Channel.WechatMiniProgram,
            }))),
        ["LoyaltyService/RecordOrder"] = (server, s) => Task.FromResult<(string, Func<Task>)>((s.MemberId, async () =>
            await server.Loyalty.RecordOrderAsync(Order(s.MemberId, "O-" + Guid.NewGuid().ToString("N"))))),
        ["LoyaltyService/RecordOrders"] = (server, s) => Task.FromResult<(string, Func<Task>)>((s.MemberId, async () =>
            await server.Loyalty.RecordOrdersAsync(new RecordOrdersRequest { Orders = { Order(s.MemberId, "O-" + Guid.NewGuid().ToString("N")) } }))),
        ["LoyaltyService/RecordRefund"] = (server, s) => Task.FromResult<(string, Func<Task>)>((s.MemberId, async () =>
            await server.Loyalty.RecordRefundAsync(new RecordRefundRequest
            {
                Channel = Channel.Pos, OrderId = s.OrderId, RefundId = s.OrderId + "-r", AmountFen = 1_000,
                RefundedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            }))),
        ["LoyaltyService/RedeemPoints"] = (server, s) => Task.FromResult<(string, Func<Task>)>((s.MemberId, async () =>
            await server.Loyalty.RedeemPointsAsync(new RedeemPointsRequest
            {
                Member = new MemberKey { MemberId = s.MemberId }, RequestId = Guid.NewGuid().ToString("N"), Points = 1, Reason = "gift",
                Channel = Channel.WechatMiniProgram,
            }))),
        ["LoyaltyService/AdjustPoints"] = (server, s) => Task.FromResult<(string, Func<Task>)>((s.MemberId, async () =>
            await server.Loyalty.AdjustPointsAsync(new AdjustPointsRequest
            {
                Member = new MemberKey { MemberId = s.MemberId }, RequestId = Guid.NewGuid().ToString("N"), Points = 10, Reason = "goodwill", Operator = "ops",
            }))),
        ["LoyaltyService/CheckIn"] = (server, s) => Task.FromResult<(string, Func<Task>)>((s.MemberId, async () =>
            await server.Loyalty.CheckInAsync(new CheckInRequest
            {
                Member = new MemberKey { MemberId = s.MemberId }, Channel = Channel.WechatMiniProgram, At = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            }))),
        ["LoyaltyService/PurchaseMembership"] = (server, s) => Task.FromResult<(string, Func<Task>)>((s.MemberId, async () =>
            await server.Loyalty.PurchaseMembershipAsync(new PurchaseMembershipRequest
            {
                Member = new MemberKey { MemberId = s.MemberId }, RequestId = Guid.NewGuid().ToString("N"), TierCode = "black", PaidFen = 29_900,
                Channel = Channel.WechatMiniProgram, PaidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            }))),
        ["LoyaltyService/RunMaintenance"] = (server, s) => Task.FromResult<(string, Func<Task>)>((s.MemberId, async () =>
            // Far enough ahead that the member's tier assessment and points expiry are due.
            await server.Loyalty.RunMaintenanceAsync(new RunMaintenanceRequest { AsOf = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddYears(3)) }))),
        ["ImportService/ImportMembers"] = (server, s) => Task.FromResult<(string, Func<Task>)>((s.MemberId, async () =>
        {
            // A legacy row with the member's phone, a new identity and points: merged into the member.
            var row = new ImportRow
            {
                RowNumber = 1, SourceRowKey = "K-" + Guid.NewGuid().ToString("N"), Phone = s.Phone, Channel = Channel.Tmall,
                ExternalId = "tb-" + Guid.NewGuid().ToString("N"), PointsBalance = 500,
            };
            var replies = await Import.ImportStream.RunAsync(server.WithKey(server.TestKey),
                new ImportHeader { ImportId = "v-" + Guid.NewGuid().ToString("N"), Source = "crm" }, [[row]]);
            Assert.Equal(ImportAcceptance.Merged, replies.Single().Outcomes.Single().Accepted.Acceptance);
        })),
        ["PartnerService/RecordPartnerOrder"] = async (server, s) =>
        {
            await server.Members.SetConsentAsync(new SetConsentRequest
            {
                MemberId = s.MemberId, Purpose = ConsentPurpose.PartnerSharing, Granted = true, Channel = Channel.WechatMiniProgram,
            });
            var partner = new PartnerService.PartnerServiceClient(server.WithKey(await server.CreateClientAsync("partner", ClientRole.Partner)));
            return (s.MemberId, async () => await partner.RecordPartnerOrderAsync(new RecordPartnerOrderRequest
            {
                Phone = s.Phone, OrderId = "P-" + Guid.NewGuid().ToString("N"), AmountFen = 20_000, PaidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            }));
        },
    };

    /// <summary>RPCs that change no member: reads, and writes of other things (programs, clients).</summary>
    static readonly HashSet<string> NoMemberChange =
    [
        "MemberService/ResolveMember", "MemberService/GetMergeHistory",
        "LoyaltyService/GetProgram", "LoyaltyService/PublishProgram", "LoyaltyService/GetBenefits", "LoyaltyService/GetPointsAccount",
        "LoyaltyService/ListPointsEntries", "LoyaltyService/VerifyLedger",
        "PartnerService/CheckMembership",
        "AdminService/CreateClient", "AdminService/ListClients", "AdminService/RevokeClient", "AdminService/ListAuditEvents",
        "ImportService/GetImport",
    ];

    [Fact]
    public void Every_rpc_of_the_contract_has_a_version_case_or_changes_no_member()
    {
        foreach (var method in DynamicCall.ContractMethods())
        {
            var name = $"{method.Service.Name}/{method.Name}";
            Assert.True(Cases.ContainsKey(name) ^ NoMemberChange.Contains(name),
                $"{name}: add a case that checks it bumps the member's version, or list it as changing no member");
        }
    }

    public static TheoryData<string> Writes() => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(Writes))]
    public async Task A_write_rpc_bumps_the_version_of_the_member_it_changes(string rpc)
    {
        var phone = TestData.Phone();
        var openId = TestData.OpenId();
        var member = (await Server.Members.EnrollMemberAsync(new EnrollMemberRequest
        {
            Phone = phone, ChannelIdentity = TestData.MiniProgram(openId), Source = TestData.Pos(), Profile = new Profile { Name = "李雷" },
        })).Member;
        var orderId = "O-" + Guid.NewGuid().ToString("N");
        await Server.Loyalty.RecordOrderAsync(Order(member.MemberId, orderId));

        var (memberId, write) = await Cases[rpc](Server, new Subject(member.MemberId, phone, openId, orderId));
        var before = SnapshotVersion(memberId);
        await write();
        var after = SnapshotVersion(memberId);
        Assert.True(after > before, $"{rpc} left the member's snapshot version at {before}");
    }

    [Fact]
    public async Task Expiry_committed_on_the_already_checked_in_path_and_on_a_refusal_bumps_the_version()
    {
        // Points earned in 2026 last until the end of 2027, brand-local; the clock crosses that line between calls.
        var endOf2027 = new DateTimeOffset(2028, 1, 1, 0, 0, 0, TimeSpan.FromHours(8));
        var clock = new ManualClock(new DateTimeOffset(2026, 3, 10, 2, 0, 0, TimeSpan.Zero));
        await using var server = await IdentityServer.StartAsync(null, clock, "--Identity:Maintenance:IntervalMinutes=0");
        var member = (await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(TestData.Phone()))).Member.MemberId;
        var key = new MemberKey { MemberId = member };
        await server.Loyalty.RecordOrderAsync(Order(member, "O-" + Guid.NewGuid().ToString("N"), clock.GetUtcNow()));
        clock.Set(endOf2027.AddMinutes(-1));
        var lastDay = Timestamp.FromDateTimeOffset(endOf2027.AddSeconds(-30));
        await server.Loyalty.CheckInAsync(new CheckInRequest { Member = key, Channel = Channel.WechatMiniProgram, At = lastDay });

        // The same brand-local day, checked in already, but the 2026 points are now due: they expire in this call.
        clock.Set(endOf2027.AddMinutes(1));
        var before = (Version: SnapshotVersion(server, member), Balance: Balance(server, member));
        var again = await server.Loyalty.CheckInAsync(new CheckInRequest { Member = key, Channel = Channel.WechatMiniProgram, At = lastDay });
        Assert.True(again.AlreadyCheckedIn);
        Assert.True(Balance(server, member) < before.Balance, "nothing expired: the case does not test what it says");
        Assert.True(SnapshotVersion(server, member) > before.Version, "expiry on the already-checked-in path left the version unchanged");
        // And the cache serves the balance after the expiry, not the one before.
        var (cached, _) = await server.Service<Identity.Service.Caching.MemberCache>().ByIdAsync(member, CancellationToken.None);
        Assert.Equal(again.PointsBalance, cached!.PointsBalance);

        // A refused redemption: whatever it committed (if anything) moves the version with it.
        await server.Loyalty.RecordOrderAsync(Order(member, "O-" + Guid.NewGuid().ToString("N"), clock.GetUtcNow()));
        clock.Set(new DateTimeOffset(2030, 1, 2, 0, 0, 0, TimeSpan.Zero));
        before = (SnapshotVersion(server, member), Balance(server, member));
        await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () => await server.Loyalty.RedeemPointsAsync(new RedeemPointsRequest
        {
            Member = key, RequestId = Guid.NewGuid().ToString("N"), Points = 1_000_000, Reason = "gift", Channel = Channel.WechatMiniProgram,
        }));
        var after = (Version: SnapshotVersion(server, member), Balance: Balance(server, member));
        Assert.True(after.Balance == before.Balance || after.Version > before.Version, "a refusal committed a change without a version bump");
    }

    static long Balance(IdentityServer server, string memberId) =>
        Scalar(server, """SELECT "PointsBalance" FROM loyalty_accounts WHERE "MemberId" = @id""", memberId);

    static RecordOrderRequest Order(string memberId, string orderId, DateTimeOffset? paidAt = null) => new()
    {
        Member = new MemberKey { MemberId = memberId }, Channel = Channel.Pos, OrderId = orderId, AmountFen = 20_000,
        PaidAt = Timestamp.FromDateTimeOffset(paidAt ?? DateTimeOffset.UtcNow),
    };

    long SnapshotVersion(string memberId) => SnapshotVersion(Server, memberId);

    /// <summary>Member version plus loyalty version, straight from the database file.</summary>
    static long SnapshotVersion(IdentityServer server, string memberId) => Scalar(server, """
        SELECT (SELECT "Version" FROM members WHERE "Id" = @id) + COALESCE((SELECT "Version" FROM loyalty_accounts WHERE "MemberId" = @id), 0)
        """, memberId);

    static long Scalar(IdentityServer server, string sql, string memberId) => server.Scalar(sql, memberId);
}
