using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;

namespace Identity.IntegrationTests.Errors;

/// <summary>
/// Bad input to every RPC family, through the real server as raw HTTP/2 gRPC calls: each case is INVALID_ARGUMENT naming
/// exactly the offending fields (or MALFORMED_REQUEST for bytes that are not a message), never INTERNAL or UNKNOWN; no
/// case writes anything, and the server logs nothing at error level.
/// </summary>
public sealed class BadInputTableTests(BadInputTableTests.Fixture fixture) : IClassFixture<BadInputTableTests.Fixture>
{
    /// <summary>The server, and a partner client for PartnerService (admins may not call it).</summary>
    public sealed class Fixture : IAsyncLifetime
    {
        public IdentityServer Server { get; private set; } = null!;
        public string PartnerKey { get; private set; } = "";

        public async Task InitializeAsync()
        {
            Server = await IdentityServer.StartAsync();
            PartnerKey = await Server.CreateClientAsync("partner", ClientRole.Partner, requestsPerSecond: 1000);
        }

        public async Task DisposeAsync() => await Server.DisposeAsync();
    }

    /// <summary>A request that must be refused, as a message or as raw frame bytes.</summary>
    sealed record Case(string Method, byte[] Body, string[] Fields, bool Partner = false, bool Malformed = false);

    /// <summary>Tables whose rows are what the service writes; audit_events is left out (refused admin and partner calls are audited by design).</summary>
    static readonly string[] WrittenTables =
    [
        "members", "channel_identities", "merges", "loyalty_accounts", "points_entries", "points_lots", "orders", "growth_events",
        "idempotency_keys", "check_ins", "clients", "consents", "partner_links", "programs",
    ];

    const string Members = "/identity.v1.MemberService/";
    const string Loyalty = "/identity.v1.LoyaltyService/";
    const string Partner = "/identity.v1.PartnerService/";
    const string Admin = "/identity.v1.AdminService/";
    const string Phone = "13800000000";
    static readonly byte[] InvalidUtf8 = [0xC3, 0x28, 0xFF];

    static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    static Timestamp At(DateTimeOffset at) => Timestamp.FromDateTimeOffset(at);
    static Timestamp BeyondYear9999 => new() { Seconds = 253_402_300_800 };
    static Timestamp BeforeYear1 => new() { Seconds = long.MinValue };
    static Timestamp BadNanos => new() { Seconds = 1_700_000_000, Nanos = -1 };
    static MemberKey Key => new() { MemberId = "m-does-not-matter" };
    static Touchpoint Pos => TestData.Pos();

    static readonly Dictionary<string, Case> Cases = Build();

    public static TheoryData<string> Names => new(Cases.Keys.Order(StringComparer.Ordinal));

    static Dictionary<string, Case> Build()
    {
        var cases = new Dictionary<string, Case>(StringComparer.Ordinal);
        void Add(string name, string method, IMessage request, params string[] fields) =>
            cases.Add(name, new Case(method, RawGrpc.Frame(request.ToByteArray()), fields));
        void AddPartner(string name, string method, IMessage request, params string[] fields) =>
            cases.Add(name, new Case(method, RawGrpc.Frame(request.ToByteArray()), fields, Partner: true));
        void AddRaw(string name, string method, byte[] body, bool partner = false, params string[] fields) =>
            cases.Add(name, new Case(method, body, fields, partner, Malformed: true));
        static byte[] Str(int number, byte[] value) => [(byte)(number << 3 | 2), (byte)value.Length, .. value];

        // MemberService.EnrollMember
        var enroll = Members + "EnrollMember";
        Add("enroll: empty phone", enroll, new EnrollMemberRequest { Phone = "", Source = Pos }, "phone");
        Add("enroll: whitespace phone", enroll, new EnrollMemberRequest { Phone = "  ", Source = Pos }, "phone");
        Add("enroll: not a mobile", enroll, new EnrollMemberRequest { Phone = "12345678901", Source = Pos }, "phone");
        Add("enroll: letters in phone", enroll, new EnrollMemberRequest { Phone = "138-CALL-ME", Source = Pos }, "phone");
        Add("enroll: oversized phone", enroll, new EnrollMemberRequest { Phone = new string('1', 5000), Source = Pos }, "phone");
        Add("enroll: neither phone nor identity", enroll, new EnrollMemberRequest { Source = Pos }, "phone");
        Add("enroll: no source", enroll, new EnrollMemberRequest { Phone = Phone }, "source.channel");
        Add("enroll: unknown source channel", enroll, new EnrollMemberRequest { Phone = Phone, Source = new Touchpoint { Channel = (Channel)99 } }, "source.channel");
        Add("enroll: negative source channel", enroll, new EnrollMemberRequest { Phone = Phone, Source = new Touchpoint { Channel = (Channel)(-1) } }, "source.channel");
        Add("enroll: unknown identity channel", enroll, new EnrollMemberRequest { ChannelIdentity = new ChannelIdentity { Channel = (Channel)42, ExternalId = "x" }, Source = Pos }, "channel_identity.channel");
        Add("enroll: empty external id", enroll, new EnrollMemberRequest { ChannelIdentity = new ChannelIdentity { Channel = Channel.WechatMiniProgram }, Source = Pos }, "channel_identity.external_id");
        Add("enroll: oversized external id", enroll, new EnrollMemberRequest { ChannelIdentity = TestData.MiniProgram(new string('o', 129)), Source = Pos }, "channel_identity.external_id");
        Add("enroll: control character in external id", enroll, new EnrollMemberRequest { ChannelIdentity = TestData.MiniProgram("o\u0000x"), Source = Pos }, "channel_identity.external_id");
        Add("enroll: union id on a POS card", enroll, new EnrollMemberRequest { ChannelIdentity = new ChannelIdentity { Channel = Channel.Pos, ExternalId = "c", UnionId = "u" }, Source = Pos }, "channel_identity.union_id");
        Add("enroll: empty union id", enroll, new EnrollMemberRequest { ChannelIdentity = TestData.MiniProgram("o1", ""), Source = Pos }, "channel_identity.union_id");
        Add("enroll: oversized name", enroll, new EnrollMemberRequest { Phone = Phone, Profile = new Profile { Name = new string('名', 65) }, Source = Pos }, "profile.name");
        Add("enroll: control character in name", enroll, new EnrollMemberRequest { Phone = Phone, Profile = new Profile { Name = "李\u0007雷" }, Source = Pos }, "profile.name");
        Add("enroll: impossible birthday", enroll, new EnrollMemberRequest { Phone = Phone, Profile = new Profile { Birthday = "1990-02-30" }, Source = Pos }, "profile.birthday");
        Add("enroll: birthday in 2999", enroll, new EnrollMemberRequest { Phone = Phone, Profile = new Profile { Birthday = "2999-01-01" }, Source = Pos }, "profile.birthday");
        Add("enroll: unknown gender", enroll, new EnrollMemberRequest { Phone = Phone, Profile = new Profile { Gender = (Gender)7 }, Source = Pos }, "profile.gender");
        Add("enroll: oversized store and guide", enroll, new EnrollMemberRequest { Phone = Phone, Source = new Touchpoint { Channel = Channel.Pos, StoreId = new string('s', 65), GuideId = new string('g', 65) } }, "source.store_id", "source.guide_id");

        // MemberService.ResolveMember
        var resolve = Members + "ResolveMember";
        Add("resolve: no key", resolve, new ResolveMemberRequest(), "key");
        Add("resolve: empty phone", resolve, new ResolveMemberRequest { Phone = "" }, "phone");
        Add("resolve: fixed-line-looking garbage", resolve, new ResolveMemberRequest { Phone = "+86 000" }, "phone");
        Add("resolve: empty member id", resolve, new ResolveMemberRequest { MemberId = "" }, "member_id");
        Add("resolve: oversized member id", resolve, new ResolveMemberRequest { MemberId = new string('m', 65) }, "member_id");
        Add("resolve: identity with unknown channel", resolve, new ResolveMemberRequest { ChannelIdentity = new ChannelIdentity { Channel = (Channel)77, ExternalId = "x" } }, "channel_identity.channel");
        Add("resolve: identity without external id", resolve, new ResolveMemberRequest { ChannelIdentity = new ChannelIdentity { Channel = Channel.App } }, "channel_identity.external_id");
        Add("resolve: benefit context without channel", resolve, new ResolveMemberRequest { Phone = Phone, BenefitContext = new BenefitContext() }, "benefit_context.channel");
        Add("resolve: benefit context at beyond 9999", resolve, new ResolveMemberRequest { Phone = Phone, BenefitContext = new BenefitContext { Channel = Channel.Pos, At = BeyondYear9999 } }, "benefit_context.at");
        Add("resolve: benefit context at two years ahead", resolve, new ResolveMemberRequest { Phone = Phone, BenefitContext = new BenefitContext { Channel = Channel.Pos, At = At(Now.AddYears(2)) } }, "benefit_context.at");
        Add("resolve: benefit context at two years ago", resolve, new ResolveMemberRequest { Phone = Phone, BenefitContext = new BenefitContext { Channel = Channel.Pos, At = At(Now.AddYears(-2)) } }, "benefit_context.at");
        Add("resolve: benefit context oversized store", resolve, new ResolveMemberRequest { Phone = Phone, BenefitContext = new BenefitContext { Channel = Channel.Pos, StoreId = new string('s', 65) } }, "benefit_context.store_id");

        // MemberService writes addressed by member id
        var bind = Members + "BindChannelIdentity";
        Add("bind: nothing", bind, new BindChannelIdentityRequest(), "member_id", "channel_identity");
        Add("bind: oversized member id", bind, new BindChannelIdentityRequest { MemberId = new string('m', 65), ChannelIdentity = TestData.MiniProgram("o1") }, "member_id");
        Add("bind: union id on POS", bind, new BindChannelIdentityRequest { MemberId = "m1", ChannelIdentity = new ChannelIdentity { Channel = Channel.Pos, ExternalId = "c", UnionId = "u" } }, "channel_identity.union_id");
        Add("bind: unknown source channel", bind, new BindChannelIdentityRequest { MemberId = "m1", ChannelIdentity = TestData.MiniProgram("o1"), Source = new Touchpoint { Channel = (Channel)55 } }, "source.channel");
        var update = Members + "UpdateProfile";
        Add("update: unknown mask path", update, new UpdateProfileRequest { MemberId = "m1", UpdateMask = new FieldMask { Paths = { "phone" } } }, "update_mask");
        Add("update: empty mask", update, new UpdateProfileRequest { MemberId = "m1", UpdateMask = new FieldMask() }, "update_mask");
        Add("update: nine mask paths", update, new UpdateProfileRequest { MemberId = "m1", UpdateMask = new FieldMask { Paths = { Enumerable.Repeat("name", 9) } } }, "update_mask");
        Add("update: nothing to update", update, new UpdateProfileRequest { MemberId = "m1" }, "profile");
        Add("update: bad birthday", update, new UpdateProfileRequest { MemberId = "m1", Profile = new Profile { Birthday = "05/04/1990" } }, "profile.birthday", "profile");
        Add("update: no member id", update, new UpdateProfileRequest { Profile = new Profile { Name = "李雷" } }, "member_id");
        var change = Members + "ChangePhone";
        Add("change phone: emergency number", change, new ChangePhoneRequest { MemberId = "m1", NewPhone = "110" }, "new_phone");
        Add("change phone: no member id", change, new ChangePhoneRequest { NewPhone = Phone }, "member_id");
        Add("change phone: unknown source channel", change, new ChangePhoneRequest { MemberId = "m1", NewPhone = Phone, Source = new Touchpoint { Channel = (Channel)123 } }, "source.channel");
        var merge = Members + "MergeMembers";
        Add("merge: same member twice", merge, new MergeMembersRequest { SurvivorMemberId = "a", AbsorbedMemberId = "a", Reason = "dup", Operator = "op" }, "absorbed_member_id");
        Add("merge: no reason or operator", merge, new MergeMembersRequest { SurvivorMemberId = "a", AbsorbedMemberId = "b" }, "reason", "operator");
        Add("merge: oversized reason", merge, new MergeMembersRequest { SurvivorMemberId = "a", AbsorbedMemberId = "b", Reason = new string('r', 257), Operator = "op" }, "reason");
        Add("merge: no ids", merge, new MergeMembersRequest { Reason = "dup", Operator = "op" }, "survivor_member_id", "absorbed_member_id");
        Add("merge history: no member id", Members + "GetMergeHistory", new GetMergeHistoryRequest(), "member_id");
        Add("merge history: oversized member id", Members + "GetMergeHistory", new GetMergeHistoryRequest { MemberId = new string('m', 100) }, "member_id");
        Add("erase: oversized member id", Members + "EraseMember", new EraseMemberRequest { MemberId = new string('m', 65), ReasonCode = ErasureReason.MemberRequest }, "member_id");
        Add("erase: no reason code", Members + "EraseMember", new EraseMemberRequest { MemberId = "m1" }, "reason_code");
        Add("erase: ticket reference with free text", Members + "EraseMember",
            new EraseMemberRequest { MemberId = "m1", ReasonCode = ErasureReason.MemberRequest, TicketRef = "ticket of 王芳" }, "ticket_ref");
        var consent = Members + "SetConsent";
        Add("consent: no purpose", consent, new SetConsentRequest { MemberId = "m1", Channel = Channel.App }, "purpose");
        Add("consent: unknown purpose", consent, new SetConsentRequest { MemberId = "m1", Purpose = (ConsentPurpose)9, Channel = Channel.App }, "purpose");
        Add("consent: no channel", consent, new SetConsentRequest { MemberId = "m1", Purpose = ConsentPurpose.Marketing }, "channel");

        // LoyaltyService
        Add("publish: empty program", Loyalty + "PublishProgram", new PublishProgramRequest(), "program_json");
        Add("publish: oversized program", Loyalty + "PublishProgram", new PublishProgramRequest { ProgramJson = new string(' ', 49 * 1024) + "{}", ValidateOnly = true }, "program_json");
        Add("publish: negative expected version", Loyalty + "PublishProgram", new PublishProgramRequest { ProgramJson = "{}", ExpectedVersion = -1 }, "expected_version");
        var benefits = Loyalty + "GetBenefits";
        Add("benefits: no member", benefits, new GetBenefitsRequest { Context = new BenefitContext { Channel = Channel.Pos } }, "member");
        Add("benefits: no context", benefits, new GetBenefitsRequest { Member = Key }, "context.channel");
        Add("benefits: unknown context channel", benefits, new GetBenefitsRequest { Member = Key, Context = new BenefitContext { Channel = (Channel)31 } }, "context.channel");
        Add("benefits: negative nanos", benefits, new GetBenefitsRequest { Member = Key, Context = new BenefitContext { Channel = Channel.Pos, At = BadNanos } }, "context.at");
        Add("benefits: at before year 1", benefits, new GetBenefitsRequest { Member = Key, Context = new BenefitContext { Channel = Channel.Pos, At = BeforeYear1 } }, "context.at");
        Add("benefits: member key with bad phone", benefits, new GetBenefitsRequest { Member = new MemberKey { Phone = "abc" }, Context = new BenefitContext { Channel = Channel.Pos } }, "member.phone");

        var order = Loyalty + "RecordOrder";
        RecordOrderRequest Order(Action<RecordOrderRequest> change)
        {
            var request = new RecordOrderRequest { Member = Key, Channel = Channel.Pos, OrderId = "O-bad", AmountFen = 100, PaidAt = At(Now) };
            change(request);
            return request;
        }
        Add("order: no member", order, Order(r => r.Member = null), "member");
        Add("order: no channel", order, Order(r => r.Channel = Channel.Unspecified), "channel");
        Add("order: unknown channel", order, Order(r => r.Channel = (Channel)1000), "channel");
        Add("order: empty order id", order, Order(r => r.OrderId = ""), "order_id");
        Add("order: oversized order id", order, Order(r => r.OrderId = new string('o', 65)), "order_id");
        Add("order: control character in order id", order, Order(r => r.OrderId = "O\n1"), "order_id");
        Add("order: zero amount", order, Order(r => r.AmountFen = 0), "amount_fen");
        Add("order: negative amount", order, Order(r => r.AmountFen = -100), "amount_fen");
        Add("order: amount long.MaxValue", order, Order(r => r.AmountFen = long.MaxValue), "amount_fen");
        Add("order: amount long.MinValue", order, Order(r => r.AmountFen = long.MinValue), "amount_fen");
        Add("order: amount above 100 million yuan", order, Order(r => r.AmountFen = 10_000_000_001), "amount_fen");
        Add("order: paid_at beyond 9999", order, Order(r => r.PaidAt = BeyondYear9999), "paid_at");
        Add("order: paid_at before year 1", order, Order(r => r.PaidAt = BeforeYear1), "paid_at");
        Add("order: paid_at with a second of nanos", order, Order(r => r.PaidAt = new Timestamp { Seconds = 1_800_000_000, Nanos = 1_000_000_000 }), "paid_at");
        Add("order: paid 31 days ago", order, Order(r => r.PaidAt = At(Now.AddDays(-31))), "paid_at");
        Add("order: paid 10 minutes ahead", order, Order(r => r.PaidAt = At(Now.AddMinutes(10))), "paid_at");
        Add("order: oversized store and guide", order, Order(r => { r.StoreId = new string('s', 65); r.GuideId = new string('g', 65); }), "store_id", "guide_id");
        Add("order: everything wrong at once", order, new RecordOrderRequest { AmountFen = -1, PaidAt = BadNanos }, "member", "channel", "order_id", "amount_fen", "paid_at");

        var orders = Loyalty + "RecordOrders";
        Add("orders: empty batch", orders, new RecordOrdersRequest(), "orders");
        var tooMany = new RecordOrdersRequest();
        tooMany.Orders.AddRange(Enumerable.Range(0, 501).Select(i => Order(r => r.OrderId = $"O-bad-{i}")));
        Add("orders: 501 orders", orders, tooMany, "orders");

        var refund = Loyalty + "RecordRefund";
        RecordRefundRequest Refund(Action<RecordRefundRequest> change)
        {
            var request = new RecordRefundRequest { Channel = Channel.Pos, OrderId = "O-bad", RefundId = "R-bad", AmountFen = 100 };
            change(request);
            return request;
        }
        Add("refund: no refund id", refund, Refund(r => r.RefundId = ""), "refund_id");
        Add("refund: oversized refund id", refund, Refund(r => r.RefundId = new string('r', 65)), "refund_id");
        Add("refund: zero amount", refund, Refund(r => r.AmountFen = 0), "amount_fen");
        Add("refund: amount long.MaxValue", refund, Refund(r => r.AmountFen = long.MaxValue), "amount_fen");
        Add("refund: refunded_at beyond 9999", refund, Refund(r => r.RefundedAt = BeyondYear9999), "refunded_at");
        Add("refund: refunded tomorrow", refund, Refund(r => r.RefundedAt = At(Now.AddDays(1))), "refunded_at");
        Add("refund: refunded 40 days ago", refund, Refund(r => r.RefundedAt = At(Now.AddDays(-40))), "refunded_at");
        Add("refund: no channel", refund, Refund(r => r.Channel = Channel.Unspecified), "channel");

        var redeem = Loyalty + "RedeemPoints";
        Add("redeem: no request id", redeem, new RedeemPointsRequest { Member = Key, Points = 10 }, "request_id");
        Add("redeem: zero points", redeem, new RedeemPointsRequest { Member = Key, RequestId = "q", Points = 0 }, "points");
        Add("redeem: negative points", redeem, new RedeemPointsRequest { Member = Key, RequestId = "q", Points = -5 }, "points");
        Add("redeem: points long.MaxValue", redeem, new RedeemPointsRequest { Member = Key, RequestId = "q", Points = long.MaxValue }, "points");
        Add("redeem: points above a billion", redeem, new RedeemPointsRequest { Member = Key, RequestId = "q", Points = 1_000_000_001 }, "points");
        Add("redeem: oversized reason", redeem, new RedeemPointsRequest { Member = Key, RequestId = "q", Points = 1, Reason = new string('r', 257) }, "reason");
        Add("redeem: unknown channel", redeem, new RedeemPointsRequest { Member = Key, RequestId = "q", Points = 1, Channel = (Channel)64 }, "channel");

        var adjust = Loyalty + "AdjustPoints";
        AdjustPointsRequest Adjust(long points) => new() { Member = Key, RequestId = "a", Points = points, Reason = "fix", Operator = "op" };
        Add("adjust: points long.MinValue", adjust, Adjust(long.MinValue), "points");
        Add("adjust: points long.MaxValue", adjust, Adjust(long.MaxValue), "points");
        Add("adjust: zero points", adjust, Adjust(0), "points");
        Add("adjust: below minus a billion", adjust, Adjust(-1_000_000_001), "points");
        Add("adjust: no reason or operator", adjust, new AdjustPointsRequest { Member = Key, RequestId = "a", Points = 5 }, "reason", "operator");

        var checkIn = Loyalty + "CheckIn";
        Add("check-in: two days ago", checkIn, new CheckInRequest { Member = Key, Channel = Channel.App, At = At(Now.AddDays(-2)) }, "at");
        Add("check-in: tomorrow", checkIn, new CheckInRequest { Member = Key, Channel = Channel.App, At = At(Now.AddDays(1)) }, "at");
        Add("check-in: beyond 9999", checkIn, new CheckInRequest { Member = Key, Channel = Channel.App, At = BeyondYear9999 }, "at");
        Add("check-in: no channel", checkIn, new CheckInRequest { Member = Key }, "channel");
        Add("check-in: no member", checkIn, new CheckInRequest { Channel = Channel.App }, "member");

        var purchase = Loyalty + "PurchaseMembership";
        PurchaseMembershipRequest Purchase(Action<PurchaseMembershipRequest> change)
        {
            var request = new PurchaseMembershipRequest { Member = Key, RequestId = "p", TierCode = "black", PaidFen = 29_900 };
            change(request);
            return request;
        }
        Add("purchase: no tier", purchase, Purchase(r => r.TierCode = ""), "tier_code");
        Add("purchase: oversized tier", purchase, Purchase(r => r.TierCode = new string('t', 33)), "tier_code");
        Add("purchase: zero paid", purchase, Purchase(r => r.PaidFen = 0), "paid_fen");
        Add("purchase: paid long.MaxValue", purchase, Purchase(r => r.PaidFen = long.MaxValue), "paid_fen");
        Add("purchase: paid 31 days ago", purchase, Purchase(r => r.PaidAt = At(Now.AddDays(-31))), "paid_at");
        Add("purchase: paid an hour ahead", purchase, Purchase(r => r.PaidAt = At(Now.AddHours(1))), "paid_at");
        Add("purchase: paid_at negative nanos", purchase, Purchase(r => r.PaidAt = BadNanos), "paid_at");
        Add("purchase: unknown channel", purchase, Purchase(r => r.Channel = (Channel)88), "channel");

        Add("points account: no member", Loyalty + "GetPointsAccount", new GetPointsAccountRequest(), "member");
        Add("points account: member key with empty id", Loyalty + "GetPointsAccount", new GetPointsAccountRequest { Member = new MemberKey { MemberId = " " } }, "member.member_id");
        Add("entries: negative page size", Loyalty + "ListPointsEntries", new ListPointsEntriesRequest { Member = Key, PageSize = -1 }, "page_size");
        Add("entries: forged page token", Loyalty + "ListPointsEntries", new ListPointsEntriesRequest { Member = Key, PageToken = "not-a-token!" }, "page_token");
        Add("entries: oversized page token", Loyalty + "ListPointsEntries", new ListPointsEntriesRequest { Member = Key, PageToken = new string('A', 5000) }, "page_token");
        Add("maintenance: as_of before year 1", Loyalty + "RunMaintenance", new RunMaintenanceRequest { AsOf = BeforeYear1 }, "as_of");
        Add("maintenance: as_of beyond 9999", Loyalty + "RunMaintenance", new RunMaintenanceRequest { AsOf = BeyondYear9999 }, "as_of");
        Add("maintenance: as_of in 50 years", Loyalty + "RunMaintenance", new RunMaintenanceRequest { AsOf = At(Now.AddYears(50)) }, "as_of");

        // PartnerService (a partner client)
        var check = Partner + "CheckMembership";
        AddPartner("partner check: no key", check, new CheckMembershipRequest(), "key");
        AddPartner("partner check: bad phone", check, new CheckMembershipRequest { Phone = "not a phone" }, "phone");
        AddPartner("partner check: empty pseudonym", check, new CheckMembershipRequest { PartnerMemberId = "" }, "partner_member_id");
        AddPartner("partner check: oversized pseudonym", check, new CheckMembershipRequest { PartnerMemberId = new string('p', 65) }, "partner_member_id");
        var partnerOrder = Partner + "RecordPartnerOrder";
        RecordPartnerOrderRequest PartnerOrder(Action<RecordPartnerOrderRequest> change)
        {
            var request = new RecordPartnerOrderRequest { Phone = Phone, OrderId = "P-bad", AmountFen = 100, PaidAt = At(Now) };
            change(request);
            return request;
        }
        AddPartner("partner order: no paid_at", partnerOrder, PartnerOrder(r => r.PaidAt = null), "paid_at");
        AddPartner("partner order: paid_at beyond 9999", partnerOrder, PartnerOrder(r => r.PaidAt = BeyondYear9999), "paid_at");
        AddPartner("partner order: paid 31 days ago", partnerOrder, PartnerOrder(r => r.PaidAt = At(Now.AddDays(-31))), "paid_at");
        AddPartner("partner order: zero amount", partnerOrder, PartnerOrder(r => r.AmountFen = 0), "amount_fen");
        AddPartner("partner order: amount long.MinValue", partnerOrder, PartnerOrder(r => r.AmountFen = long.MinValue), "amount_fen");
        AddPartner("partner order: oversized order id", partnerOrder, PartnerOrder(r => r.OrderId = new string('o', 65)), "order_id");
        AddPartner("partner order: no key", partnerOrder, PartnerOrder(r => r.ClearKey()), "key");

        // AdminService
        var create = Admin + "CreateClient";
        Add("create client: no name", create, new CreateClientRequest { Role = ClientRole.Pos }, "name");
        Add("create client: no role", create, new CreateClientRequest { Name = "till" }, "role");
        Add("create client: unknown role", create, new CreateClientRequest { Name = "till", Role = (ClientRole)17 }, "role");
        Add("create client: mini-program without channel", create, new CreateClientRequest { Name = "mp", Role = ClientRole.Miniprogram }, "channel");
        Add("create client: 101 stores", create, new CreateClientRequest { Name = "till", Role = ClientRole.Pos, Stores = { Enumerable.Range(0, 101).Select(i => $"S{i}") } }, "stores");
        Add("create client: stores for a partner", create, new CreateClientRequest { Name = "p", Role = ClientRole.Partner, Stores = { "S1" } }, "stores");
        Add("create client: store with a comma", create, new CreateClientRequest { Name = "till", Role = ClientRole.Pos, Stores = { "S1,S2" } }, "stores");
        Add("create client: negative rate", create, new CreateClientRequest { Name = "till", Role = ClientRole.Pos, RequestsPerSecond = -1 }, "requests_per_second");
        Add("create client: rate above a million", create, new CreateClientRequest { Name = "till", Role = ClientRole.Pos, RequestsPerSecond = int.MaxValue }, "requests_per_second");
        Add("revoke client: no id", Admin + "RevokeClient", new RevokeClientRequest(), "client_id");
        Add("revoke client: oversized id", Admin + "RevokeClient", new RevokeClientRequest { ClientId = new string('c', 65) }, "client_id");
        var audit = Admin + "ListAuditEvents";
        Add("audit: from beyond 9999", audit, new ListAuditEventsRequest { From = BeyondYear9999 }, "from");
        Add("audit: to with bad nanos", audit, new ListAuditEventsRequest { To = BadNanos }, "to");
        Add("audit: to before from", audit, new ListAuditEventsRequest { From = At(Now), To = At(Now.AddDays(-1)) }, "to");
        Add("audit: negative page size", audit, new ListAuditEventsRequest { PageSize = -10 }, "page_size");
        Add("audit: forged page token", audit, new ListAuditEventsRequest { PageToken = "%%%" }, "page_token");

        // Raw bytes that are not a message, to each service.
        AddRaw("raw: garbage to MemberService", enroll, RawGrpc.Frame([0xFF, 0xFF, 0xFF, 0xFF]));
        AddRaw("raw: garbage to LoyaltyService", order, RawGrpc.Frame([0x0A, 0x7F, 0x01]));
        AddRaw("raw: garbage to PartnerService", check, RawGrpc.Frame([0xFF, 0xFF, 0xFF, 0xFF]), partner: true);
        AddRaw("raw: garbage to AdminService", create, RawGrpc.Frame([0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]));
        AddRaw("raw: invalid UTF-8 member id", resolve, RawGrpc.Frame(Str(3, InvalidUtf8)), false, "member_id");
        AddRaw("raw: invalid UTF-8 order id", order, RawGrpc.Frame(Str(3, InvalidUtf8)), false, "order_id");
        AddRaw("raw: invalid UTF-8 partner phone", check, RawGrpc.Frame(Str(1, InvalidUtf8)), true, "phone");
        AddRaw("raw: invalid UTF-8 client name", create, RawGrpc.Frame(Str(1, InvalidUtf8)), false, "name");
        AddRaw("raw: invalid UTF-8 nested external id", enroll, RawGrpc.Frame(Str(2, [0x08, 0x01, .. Str(2, InvalidUtf8)])), false, "channel_identity.external_id");
        AddRaw("raw: truncated frame", order, RawGrpc.Frame([0x08, 0x01], declaredLength: 40));
        AddRaw("raw: data after the message", order, [.. RawGrpc.Frame([0x10, 0x01]), 0x00, 0x00]);
        AddRaw("raw: compressed flag without grpc-encoding", create, RawGrpc.Frame([0x0A, 0x01, 0x61], flag: 1));
        AddRaw("raw: undefined compressed flag", audit, RawGrpc.Frame([], flag: 0x80));
        AddRaw("raw: empty body", Loyalty + "VerifyLedger", []);
        return cases;
    }

    [Fact]
    public void The_table_covers_every_rpc_family_with_at_least_a_hundred_cases()
    {
        Assert.True(Cases.Count >= 100, $"{Cases.Count} cases");
        foreach (var service in new[] { Members, Loyalty, Partner, Admin })
            Assert.Contains(Cases.Values, c => c.Method.StartsWith(service, StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Names))]
    public async Task Bad_input_is_invalid_argument_naming_its_fields_and_writes_nothing(string name)
    {
        var server = fixture.Server;
        var @case = Cases[name];
        var before = WrittenTables.Select(server.Count).ToList();
        var logLinesBefore = server.Logs.Lines.Count;
        using var raw = new RawGrpc(server.Address, @case.Partner ? fixture.PartnerKey : server.TestKey);

        var outcome = await raw.SendAsync(@case.Method, @case.Body);

        Assert.True(outcome.Status == 3, $"{name}: expected INVALID_ARGUMENT (3), got {outcome.Status}: {outcome.Message}");
        Assert.Equal(@case.Malformed ? "MALFORMED_REQUEST" : "INVALID_ARGUMENT", outcome.Reason);
        Assert.True(@case.Fields.Order(StringComparer.Ordinal).SequenceEqual(outcome.BadFields.Distinct().Order(StringComparer.Ordinal)),
            $"{name}: expected [{string.Join(", ", @case.Fields)}], got [{string.Join(", ", outcome.BadFields)}] ({outcome.Message})");
        Assert.Equal(before, WrittenTables.Select(server.Count).ToList());
        // Only this call's lines: a start-up line (a health probe before the migration finished) is not the call's.
        var errors = server.Logs.Lines.Skip(logLinesBefore).Where(l => l.StartsWith("Error ", StringComparison.Ordinal) || l.StartsWith("Critical ", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }
}
