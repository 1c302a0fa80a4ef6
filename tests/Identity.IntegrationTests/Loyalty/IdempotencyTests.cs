using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Identity.IntegrationTests.Loyalty;

/// <summary>
/// Every idempotent write: a retry replays (after a merge too), two clients' same request id are two operations, and a
/// request that differs from the original in any one field is ALREADY_EXISTS and changes nothing.
/// </summary>
public sealed class IdempotencyTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    IdentityServer Server => fixture.Server;

    static string Fresh() => Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task A_retry_after_the_member_was_merged_replays()
    {
        // A phone-less shopper known by a Tmall id buys; the shopper is then merged into the member with the phone.
        var tmall = new ChannelIdentity { Channel = Channel.Tmall, ExternalId = "tm-" + Fresh() };
        var fan = (await Server.Members.EnrollMemberAsync(new EnrollMemberRequest { ChannelIdentity = tmall, Source = TestData.Pos() })).Member;
        var survivor = (await Server.Members.EnrollMemberAsync(TestData.EnrollAtPos(TestData.Phone()))).Member;
        var order = new RecordOrderRequest { Member = new MemberKey { ChannelIdentity = tmall }, Channel = Channel.Tmall, OrderId = "T-" + Fresh(), AmountFen = 50_000 };
        var redeem = new RedeemPointsRequest { Member = new MemberKey { MemberId = fan.MemberId }, RequestId = Fresh(), Points = 100 };
        var first = await Server.Loyalty.RecordOrderAsync(order);
        var spent = await Server.Loyalty.RedeemPointsAsync(redeem);

        await Server.Members.MergeMembersAsync(new MergeMembersRequest
        {
            SurvivorMemberId = survivor.MemberId, AbsorbedMemberId = fan.MemberId, Reason = "same person", Operator = "ops",
        });

        var again = await Server.Loyalty.RecordOrderAsync(order);
        Assert.True(again.Replayed);
        Assert.Equal(first.PointsEarned, again.PointsEarned);
        Assert.Equal(first.MemberId, again.MemberId);
        Assert.True((await Server.Loyalty.RedeemPointsAsync(redeem)).Replayed);
        var account = await Server.Loyalty.GetPointsAccountAsync(new GetPointsAccountRequest { Member = new MemberKey { MemberId = survivor.MemberId } });
        Assert.Equal(first.PointsEarned - spent.PointsRedeemed, account.Balance);
    }

    [Fact]
    public async Task Two_clients_with_one_request_id_are_two_operations()
    {
        var member = (await Server.Members.EnrollMemberAsync(TestData.EnrollAtPos(TestData.Phone()))).Member;
        await Server.Loyalty.AdjustPointsAsync(new AdjustPointsRequest
        {
            Member = new MemberKey { MemberId = member.MemberId }, RequestId = Fresh(), Points = 1_000, Reason = "welcome", Operator = "ops",
        });
        var requestId = "shared-" + Fresh();
        var a = Server.LoyaltyAs(await Server.CreateClientAsync("ops-a", ClientRole.Admin));
        var b = Server.LoyaltyAs(await Server.CreateClientAsync("ops-b", ClientRole.Admin));
        var request = new RedeemPointsRequest { Member = new MemberKey { MemberId = member.MemberId }, RequestId = requestId, Points = 100 };

        Assert.False((await a.RedeemPointsAsync(request)).Replayed);
        var second = await b.RedeemPointsAsync(request);
        Assert.False(second.Replayed);
        Assert.Equal(800, second.PointsBalance);
        Assert.True((await a.RedeemPointsAsync(request)).Replayed);
        // A different request under a's id is a reused key for a, and still a new operation for a third client.
        await Rpc.FailsWith(StatusCode.AlreadyExists, a.RedeemPointsAsync(new RedeemPointsRequest(request) { Points = 5 }));
    }

    /// <summary>A valid request for an idempotent RPC, and for each field that is not part of its key, a valid other value.</summary>
    sealed record Case(IMessage Request, Dictionary<string, Action<IMessage>> Mutations, CallInvoker Invoker);

    [Fact]
    public async Task Changing_any_one_field_of_an_idempotent_request_is_a_reused_key()
    {
        var phone = TestData.Phone();
        var member = (await Server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone))).Member;
        var other = (await Server.Members.EnrollMemberAsync(TestData.EnrollAtPos(TestData.Phone()))).Member;
        await Server.Members.SetConsentAsync(new SetConsentRequest
        {
            MemberId = member.MemberId, Purpose = ConsentPurpose.PartnerSharing, Granted = true, Channel = Channel.WechatMiniProgram,
        });
        await Server.Loyalty.AdjustPointsAsync(new AdjustPointsRequest
        {
            Member = new MemberKey { MemberId = member.MemberId }, RequestId = Fresh(), Points = 10_000, Reason = "welcome", Operator = "ops",
        });
        var byId = new MemberKey { MemberId = member.MemberId };
        var recent = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-1));
        var orders = new List<string>();
        for (var i = 0; i < 2; i++)
        {
            var orderId = "O-" + Fresh();
            await Server.Loyalty.RecordOrderAsync(new RecordOrderRequest { Member = byId, Channel = Channel.Pos, OrderId = orderId, StoreId = "S001", AmountFen = 20_000 });
            orders.Add(orderId);
        }
        var partnerKey = await Server.CreateClientAsync("partner", ClientRole.Partner);
        var partnerInvoker = Server.WithKey(partnerKey);
        var pseudonym = (await new PartnerService.PartnerServiceClient(partnerInvoker).CheckMembershipAsync(new CheckMembershipRequest { Phone = phone })).PartnerMemberId;
        var admin = Server.WithKey(Server.TestKey);

        var cases = new Dictionary<string, Case>
        {
            ["LoyaltyService/RecordOrder"] = new(
                new RecordOrderRequest { Member = byId, Channel = Channel.Pos, OrderId = "O-" + Fresh(), StoreId = "S001", GuideId = "G1", AmountFen = 10_000 },
                new()
                {
                    ["member"] = m => ((RecordOrderRequest)m).Member = new MemberKey { Phone = phone },
                    ["store_id"] = m => ((RecordOrderRequest)m).StoreId = "S002",
                    ["guide_id"] = m => ((RecordOrderRequest)m).GuideId = "G2",
                    ["amount_fen"] = m => ((RecordOrderRequest)m).AmountFen = 10_001,
                    ["paid_at"] = m => ((RecordOrderRequest)m).PaidAt = recent,
                }, admin),
            ["LoyaltyService/RecordRefund"] = new(
                new RecordRefundRequest { Channel = Channel.Pos, OrderId = orders[0], RefundId = "R-" + Fresh(), AmountFen = 1_000 },
                new()
                {
                    ["order_id"] = m => ((RecordRefundRequest)m).OrderId = orders[1],
                    ["amount_fen"] = m => ((RecordRefundRequest)m).AmountFen = 1_001,
                    ["refunded_at"] = m => ((RecordRefundRequest)m).RefundedAt = recent,
                }, admin),
            ["LoyaltyService/RedeemPoints"] = new(
                new RedeemPointsRequest { Member = byId, RequestId = Fresh(), Points = 10, Reason = "gift", Channel = Channel.Pos, StoreId = "S001" },
                new()
                {
                    ["member"] = m => ((RedeemPointsRequest)m).Member = new MemberKey { Phone = phone },
                    ["points"] = m => ((RedeemPointsRequest)m).Points = 11,
                    ["reason"] = m => ((RedeemPointsRequest)m).Reason = "wrap",
                    ["channel"] = m => ((RedeemPointsRequest)m).Channel = Channel.App,
                    ["store_id"] = m => ((RedeemPointsRequest)m).StoreId = "S002",
                }, admin),
            ["LoyaltyService/AdjustPoints"] = new(
                new AdjustPointsRequest { Member = byId, RequestId = Fresh(), Points = 10, Reason = "fix", Operator = "ops" },
                new()
                {
                    ["member"] = m => ((AdjustPointsRequest)m).Member = new MemberKey { Phone = phone },
                    ["points"] = m => ((AdjustPointsRequest)m).Points = -10,
                    ["reason"] = m => ((AdjustPointsRequest)m).Reason = "other fix",
                    ["operator"] = m => ((AdjustPointsRequest)m).Operator = "ops2",
                }, admin),
            ["LoyaltyService/PurchaseMembership"] = new(
                new PurchaseMembershipRequest { Member = byId, RequestId = Fresh(), TierCode = "black", PaidFen = 29_900, Channel = Channel.WechatMiniProgram },
                new()
                {
                    ["member"] = m => ((PurchaseMembershipRequest)m).Member = new MemberKey { Phone = phone },
                    ["tier_code"] = m => ((PurchaseMembershipRequest)m).TierCode = "gold",
                    ["paid_fen"] = m => ((PurchaseMembershipRequest)m).PaidFen = 29_901,
                    ["channel"] = m => ((PurchaseMembershipRequest)m).Channel = Channel.App,
                    ["paid_at"] = m => ((PurchaseMembershipRequest)m).PaidAt = recent,
                }, admin),
            ["LoyaltyService/CheckIn"] = new(
                new CheckInRequest { Member = byId, Channel = Channel.WechatMiniProgram, RequestId = Fresh() },
                new()
                {
                    ["member"] = m => ((CheckInRequest)m).Member = new MemberKey { Phone = phone },
                    ["channel"] = m => ((CheckInRequest)m).Channel = Channel.App,
                    ["at"] = m => ((CheckInRequest)m).At = recent,
                }, admin),
            ["MemberService/SetConsent"] = new(
                new SetConsentRequest { MemberId = member.MemberId, Purpose = ConsentPurpose.Marketing, Granted = true, Channel = Channel.WechatMiniProgram, RequestId = Fresh() },
                new()
                {
                    ["member_id"] = m => ((SetConsentRequest)m).MemberId = other.MemberId,
                    ["purpose"] = m => ((SetConsentRequest)m).Purpose = ConsentPurpose.PartnerSharing,
                    ["granted"] = m => ((SetConsentRequest)m).Granted = false,
                    ["channel"] = m => ((SetConsentRequest)m).Channel = Channel.App,
                }, admin),
            ["PartnerService/RecordPartnerOrder"] = new(
                new RecordPartnerOrderRequest { Phone = phone, OrderId = "P-" + Fresh(), AmountFen = 10_000, PaidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow) },
                new()
                {
                    ["phone"] = m => ((RecordPartnerOrderRequest)m).PartnerMemberId = pseudonym,
                    ["amount_fen"] = m => ((RecordPartnerOrderRequest)m).AmountFen = 10_001,
                    ["paid_at"] = m => ((RecordPartnerOrderRequest)m).PaidAt = recent,
                }, partnerInvoker),
        };
        // The fields that make the key: changing them is a new operation, not a reused key.
        var keyFields = new HashSet<string> { "request_id", "order_id", "refund_id", "channel@RecordOrder", "channel@RecordRefund", "partner_member_id" };

        var failures = new List<string>();
        foreach (var method in DynamicCall.ContractMethods().Where(m => m.InputType.FindFieldByName("request_id") is not null
                     || m.Name is "RecordOrder" or "RecordRefund" or "RecordPartnerOrder"))
        {
            var name = $"{method.Service.Name}/{method.Name}";
            if (!cases.TryGetValue(name, out var @case))
            {
                failures.Add($"{name} is idempotent but has no case here");
                continue;
            }
            foreach (var field in method.InputType.Fields.InDeclarationOrder())
            {
                if (keyFields.Contains(field.Name) || keyFields.Contains($"{field.Name}@{method.Name}"))
                    continue;
                if (!@case.Mutations.ContainsKey(field.Name) && !(field.Name == "order_id" && name.Contains("Refund", StringComparison.Ordinal)))
                    failures.Add($"{name}.{field.Name} has no mutation: every field is part of the fingerprint");
            }

            var (code, first, error) = await DynamicCall.TryAsync(@case.Invoker, method, @case.Request);
            if (code != StatusCode.OK)
            {
                failures.Add($"{name}: the original request failed with {code}: {error?.Status.Detail}");
                continue;
            }
            var (repeatCode, repeat, _) = await DynamicCall.TryAsync(@case.Invoker, method, @case.Request);
            if (repeatCode != StatusCode.OK || !Equivalent(first!, repeat!))
                failures.Add($"{name}: the same request again did not replay the original reply ({repeatCode})");
            foreach (var (field, mutate) in @case.Mutations)
            {
                var changed = Copy(@case.Request);
                mutate(changed);
                var (mutatedCode, _, mutatedError) = await DynamicCall.TryAsync(@case.Invoker, method, changed);
                if (mutatedCode != StatusCode.AlreadyExists || mutatedError?.Reason() != "IDEMPOTENCY_KEY_REUSED")
                    failures.Add($"{name} with {field} changed: expected ALREADY_EXISTS IDEMPOTENCY_KEY_REUSED, got {mutatedCode}: {mutatedError?.Status.Detail}");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Empty((await Server.Loyalty.VerifyLedgerAsync(new VerifyLedgerRequest())).Problems);
    }

    static IMessage Copy(IMessage message) => message.Descriptor.Parser.ParseFrom(message.ToByteArray());

    /// <summary>The reply of a replay equals the original, but for its replayed flag.</summary>
    static bool Equivalent(IMessage original, IMessage replay)
    {
        var a = Copy(original);
        var b = Copy(replay);
        foreach (var message in new[] { a, b })
            if (message.Descriptor.FindFieldByName("replayed") is { } flag)
                flag.Accessor.Clear(message);
        return a.Equals(b);
    }
}
