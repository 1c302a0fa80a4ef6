using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Identity.IntegrationTests.Security;

/// <summary>
/// A POS client bound to stores names one of them on every call, reads included; refunds are decided on the stored
/// order (its channel and store), and partner orders are out of every other client's reach.
/// </summary>
public sealed class PosStoreMatrixTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    IdentityServer Server => fixture.Server;

    static string Fresh() => Guid.NewGuid().ToString("N")[..12];

    [Fact]
    public async Task Reads_and_writes_name_one_of_the_clients_stores()
    {
        var phone = TestData.Phone();
        await Server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone));
        var key = await Server.CreateClientAsync("till-s001", ClientRole.Pos, stores: ["S001"]);
        var members = Server.MembersAs(key);
        var loyalty = Server.LoyaltyAs(key);
        var unbound = Server.CreateClientAsync("till-any", ClientRole.Pos);

        // Reads.
        await members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone, StoreId = "S001" });
        await members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone, BenefitContext = new BenefitContext { Channel = Channel.Pos, StoreId = "S001" } });
        Assert.Contains("store_id", (await Rpc.FailsWith(StatusCode.InvalidArgument, members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone }))).BadFields());
        await Rpc.FailsWith(StatusCode.PermissionDenied, members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone, StoreId = "S002" }));
        await Rpc.FailsWith(StatusCode.PermissionDenied, members.ResolveMemberAsync(new ResolveMemberRequest
        {
            Phone = phone, BenefitContext = new BenefitContext { Channel = Channel.Pos, StoreId = "S002" },
        }));
        Assert.Contains("store_id", (await Rpc.FailsWith(StatusCode.InvalidArgument, members.ResolveMemberAsync(new ResolveMemberRequest
        {
            Phone = phone, StoreId = "S001", BenefitContext = new BenefitContext { Channel = Channel.Pos, StoreId = "S002" },
        }))).BadFields());
        await loyalty.GetBenefitsAsync(new GetBenefitsRequest { Member = new MemberKey { Phone = phone }, Context = new BenefitContext { Channel = Channel.Pos, StoreId = "S001" } });
        await Rpc.FailsWith(StatusCode.PermissionDenied, loyalty.GetBenefitsAsync(new GetBenefitsRequest
        {
            Member = new MemberKey { Phone = phone }, Context = new BenefitContext { Channel = Channel.Pos, StoreId = "S002" },
        }));
        Assert.Contains("context.store_id", (await Rpc.FailsWith(StatusCode.InvalidArgument, loyalty.GetBenefitsAsync(new GetBenefitsRequest
        {
            Member = new MemberKey { Phone = phone }, Context = new BenefitContext { Channel = Channel.Pos },
        }))).BadFields());
        // A POS client with no stores is not bound to any.
        await Server.MembersAs(await unbound).ResolveMemberAsync(new ResolveMemberRequest { Phone = phone });

        // Writes.
        await members.EnrollMemberAsync(new EnrollMemberRequest { Phone = TestData.Phone(), Source = TestData.Pos("S001") });
        await Rpc.FailsWith(StatusCode.PermissionDenied, members.EnrollMemberAsync(new EnrollMemberRequest { Phone = TestData.Phone(), Source = TestData.Pos("S002") }));
        await loyalty.RecordOrderAsync(Order(phone, Channel.Pos, "S001"));
        await Rpc.FailsWith(StatusCode.PermissionDenied, loyalty.RecordOrderAsync(Order(phone, Channel.Pos, "S002")));
        await Rpc.FailsWith(StatusCode.PermissionDenied, loyalty.RecordOrderAsync(Order(phone, Channel.Tmall, "S001")));
        Assert.Contains("channel", (await Rpc.FailsWith(StatusCode.InvalidArgument, Server.Loyalty.RecordOrderAsync(Order(phone, Channel.Partner, null)))).BadFields());
    }

    [Fact]
    public async Task Refunds_are_decided_on_the_stored_order_across_stores_and_channels()
    {
        var phone = TestData.Phone();
        var member = (await Server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone))).Member;
        var s001 = Server.LoyaltyAs(await Server.CreateClientAsync("till-s001", ClientRole.Pos, stores: ["S001"]));
        var s002 = Server.LoyaltyAs(await Server.CreateClientAsync("till-s002", ClientRole.Pos, stores: ["S002"]));

        var atS002 = Order(phone, Channel.Pos, "S002");
        await s002.RecordOrderAsync(atS002);
        var online = Order(phone, Channel.Tmall, null);
        await Server.Loyalty.RecordOrderAsync(online);

        // The same status, reason and message as an order never recorded.
        var unknown = await Rpc.FailsWith(StatusCode.NotFound, s001.RecordRefundAsync(Refund(Channel.Pos, "never-" + Fresh())));
        async Task AnswersAsUnknown(AsyncUnaryCall<RecordRefundResponse> call, string orderId, string channelName)
        {
            var refused = await Rpc.FailsWith(StatusCode.NotFound, call);
            Assert.Equal(unknown.Reason(), refused.Reason());
            Assert.Equal($"Order {channelName}:{orderId} was never recorded.", refused.Status.Detail);
        }

        await AnswersAsUnknown(s001.RecordRefundAsync(Refund(Channel.Pos, atS002.OrderId)), atS002.OrderId, "Pos");
        await AnswersAsUnknown(s001.RecordRefundAsync(Refund(Channel.Tmall, online.OrderId)), online.OrderId, "Tmall");

        // The owning store refunds; another store repeating the very same request is not told the outcome.
        var refund = Refund(Channel.Pos, atS002.OrderId);
        Assert.Equal(member.MemberId, (await s002.RecordRefundAsync(refund)).MemberId);
        Assert.True((await s002.RecordRefundAsync(refund)).Replayed);
        await AnswersAsUnknown(s001.RecordRefundAsync(refund), atS002.OrderId, "Pos");
        // An operator may refund the online order.
        await Server.Loyalty.RecordRefundAsync(Refund(Channel.Tmall, online.OrderId));

        // Partner orders live in the partner's own key space: nobody else can refund them, an operator included.
        await Server.Members.SetConsentAsync(new SetConsentRequest
        {
            MemberId = member.MemberId, Purpose = ConsentPurpose.PartnerSharing, Granted = true, Channel = Channel.WechatMiniProgram,
        });
        var partnerKey = await Server.CreateClientAsync("partner", ClientRole.Partner);
        var partner = new PartnerService.PartnerServiceClient(Server.WithKey(partnerKey));
        var partnerOrderId = "P-" + Fresh();
        await partner.RecordPartnerOrderAsync(new RecordPartnerOrderRequest
        {
            Phone = phone, OrderId = partnerOrderId, AmountFen = 10_000, PaidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        });
        var partnerClientId = (await Server.Admin.ListClientsAsync(new ListClientsRequest())).Clients.Single(c => c.KeyPrefix == partnerKey[..10]).ClientId;
        var stored = $"{partnerClientId}:{partnerOrderId}";
        await AnswersAsUnknown(Server.Loyalty.RecordRefundAsync(Refund(Channel.Partner, stored)), stored, "Partner");
        await AnswersAsUnknown(s001.RecordRefundAsync(Refund(Channel.Partner, stored)), stored, "Partner");
    }

    static RecordOrderRequest Order(string phone, Channel channel, string? store) => new()
    {
        Member = new MemberKey { Phone = phone }, Channel = channel, OrderId = "O-" + Fresh(), StoreId = store ?? "", AmountFen = 10_000,
    };

    static RecordRefundRequest Refund(Channel channel, string orderId) => new()
    {
        Channel = channel, OrderId = orderId, RefundId = "R-" + Fresh(), AmountFen = 1_000,
    };
}
