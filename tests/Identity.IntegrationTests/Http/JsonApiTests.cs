using System.Net;
using System.Text.Json.Nodes;
using Grpc.Core;

namespace Identity.IntegrationTests.Http;

/// <summary>
/// Every annotated RPC called as JSON over HTTP/1.1 on the Http endpoint, through the real pipeline: the same keys,
/// roles and scopes as on gRPC, and errors as google.rpc.Status JSON under the matching HTTP status.
/// </summary>
public sealed class JsonApiTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    IdentityServer Server => fixture.Server;

    static string Now => DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);

    static string Fresh(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..12];

    JsonClient Client(string? key) => new(Server.HttpAddress, key);

    [Fact]
    public async Task Every_annotated_rpc_answers_json_over_http_1_1()
    {
        using var admin = Client(Server.TestKey);
        var phone = TestData.Phone();
        var openId = TestData.OpenId();

        var enrolled = await admin.OkAsync(HttpMethod.Post, "/v1/members:enroll", new
        {
            phone, profile = new { name = "李雷" }, source = new { channel = "CHANNEL_POS", storeId = "S001" },
        });
        Assert.True((bool)enrolled["created"]!);
        var memberId = (string)enrolled["member"]!["memberId"]!;
        Assert.Equal(TestData.Masked(phone), (string?)enrolled["member"]!["maskedPhone"]);

        var resolved = await admin.OkAsync(HttpMethod.Post, "/v1/members:resolve", new { phone = TestData.CrmForm(phone) });
        Assert.Equal(memberId, (string?)resolved["member"]!["memberId"]);

        var bound = await admin.OkAsync(HttpMethod.Post, $"/v1/members/{memberId}:bindChannelIdentity",
            new { channelIdentity = new { channel = "CHANNEL_WECHAT_MINI_PROGRAM", externalId = openId } });
        Assert.Contains(openId, bound.ToJsonString(), StringComparison.Ordinal);

        var updated = await admin.OkAsync(HttpMethod.Patch, $"/v1/members/{memberId}/profile",
            new { profile = new { name = "韩梅梅" }, updateMask = "name" });
        Assert.Equal("韩梅梅", (string?)updated["member"]!["profile"]!["name"]);

        await admin.OkAsync(HttpMethod.Post, $"/v1/members/{memberId}:setConsent",
            new { purpose = "CONSENT_PURPOSE_PARTNER_SHARING", granted = true, channel = "CHANNEL_WECHAT_MINI_PROGRAM" });

        var program = await admin.OkAsync(HttpMethod.Get, "/v1/program");
        Assert.True((int)program["version"]! >= 1);

        var benefits = await admin.OkAsync(HttpMethod.Post, "/v1/benefits:get",
            new { member = new { memberId }, context = new { channel = "CHANNEL_POS", storeId = "S001" } });
        Assert.Equal(memberId, (string?)benefits["memberId"]);
        Assert.NotNull(benefits["quote"]);

        var orderId = Fresh("O");
        var order = await admin.OkAsync(HttpMethod.Post, "/v1/orders", new
        {
            member = new { phone }, channel = "CHANNEL_POS", orderId, storeId = "S001", amountFen = 100_000, paidAt = Now,
        });
        var earned = long.Parse((string)order["pointsEarned"]!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(earned > 0);

        var refund = await admin.OkAsync(HttpMethod.Post, "/v1/refunds",
            new { channel = "CHANNEL_POS", orderId, refundId = orderId + "-r", amountFen = 10_000, refundedAt = Now });
        Assert.IsType<string>((string?)refund["pointsReversed"]); // int64 as a string, per the protobuf JSON mapping

        var account = await admin.OkAsync(HttpMethod.Post, "/v1/points:getAccount", new { member = new { memberId } });
        Assert.True(long.Parse((string)account["balance"]!, System.Globalization.CultureInfo.InvariantCulture) > 0, account.ToJsonString());

        var redeemed = await admin.OkAsync(HttpMethod.Post, "/v1/points:redeem",
            new { member = new { memberId }, requestId = Fresh("R"), points = 1, reason = "coupon", channel = "CHANNEL_WECHAT_MINI_PROGRAM" });
        Assert.Equal("1", (string?)redeemed["pointsRedeemed"]);

        var entries = await admin.OkAsync(HttpMethod.Post, "/v1/points:listEntries", new { member = new { memberId }, pageSize = 10 });
        Assert.True(entries["entries"]!.AsArray().Count >= 3, entries.ToJsonString());

        var checkIn = await admin.OkAsync(HttpMethod.Post, "/v1/checkIns",
            new { member = new { channelIdentity = new { channel = "CHANNEL_WECHAT_MINI_PROGRAM", externalId = openId } }, channel = "CHANNEL_WECHAT_MINI_PROGRAM" });
        Assert.NotEmpty(checkIn.AsObject());

        using var partner = Client(await Server.CreateClientAsync("partner", ClientRole.Partner));
        var membership = await partner.OkAsync(HttpMethod.Post, "/v1/partner/memberships:check", new { phone });
        Assert.True((bool)membership["isMember"]!);
        var partnerMemberId = (string)membership["partnerMemberId"]!;
        var partnerOrder = await partner.OkAsync(HttpMethod.Post, "/v1/partner/orders",
            new { partnerMemberId, orderId = Fresh("P"), amountFen = 20_000, paidAt = Now });
        Assert.Equal(partnerMemberId, (string?)partnerOrder["partnerMemberId"]);
    }

    [Fact]
    public async Task No_key_is_401_an_unknown_key_401_and_a_role_out_of_scope_403()
    {
        using var anonymous = Client(null);
        var none = (await anonymous.PostAsync("/v1/members:resolve", new { phone = TestData.Phone() })).Fails(HttpStatusCode.Unauthorized, StatusCode.Unauthenticated);
        Assert.Equal("UNAUTHENTICATED", none.Reason());

        using var unknown = Client("idk_not-a-key");
        var reply = await unknown.PostAsync("/v1/members:resolve", new { phone = TestData.Phone() });
        reply.Fails(HttpStatusCode.Unauthorized, StatusCode.Unauthenticated);
        Assert.Equal("Bearer", reply.Response.Headers.WwwAuthenticate.Single().Scheme);

        using var pos = Client(await Server.CreateClientAsync("till", ClientRole.Pos, stores: ["S001"]));
        var denied = (await pos.PostAsync("/v1/points:redeem", new { member = new { phone = TestData.Phone() }, requestId = Fresh("R"), points = 1 }))
            .Fails(HttpStatusCode.Forbidden, StatusCode.PermissionDenied);
        Assert.Equal("PERMISSION_DENIED", denied.Reason());

        // A store the key does not hold: the handler's scope check, same as on gRPC.
        var phone = TestData.Phone();
        await Server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone));
        (await pos.PostAsync("/v1/orders", new { member = new { phone }, channel = "CHANNEL_POS", orderId = Fresh("O"), storeId = "S999", amountFen = 100, paidAt = Now }))
            .Fails(HttpStatusCode.Forbidden, StatusCode.PermissionDenied);
    }

    [Fact]
    public async Task Bad_input_is_400_with_field_violations_missing_is_404_and_a_reused_key_409()
    {
        using var admin = Client(Server.TestKey);
        var bad = (await admin.PostAsync("/v1/members:resolve", new { phone = "abc" })).Fails(HttpStatusCode.BadRequest, StatusCode.InvalidArgument);
        Assert.Contains("phone", bad.BadFields());

        var phone = TestData.Phone();
        await Server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone));
        using var pos = Client(await Server.CreateClientAsync("till", ClientRole.Pos, stores: ["S001"]));
        var noStore = (await pos.PostAsync("/v1/orders", new { member = new { phone }, channel = "CHANNEL_POS", orderId = Fresh("O"), amountFen = 100, paidAt = Now }))
            .Fails(HttpStatusCode.BadRequest, StatusCode.InvalidArgument);
        Assert.Contains("store_id", noStore.BadFields());

        // Not JSON at all, and JSON of the wrong shape: the caller's error, never a 500.
        (await admin.SendAsync(HttpMethod.Post, "/v1/members:resolve", "{\"phone\":")).Fails(HttpStatusCode.BadRequest, StatusCode.InvalidArgument);
        (await admin.SendAsync(HttpMethod.Post, "/v1/members:resolve", "{\"phone\":{\"a\":1}}")).Fails(HttpStatusCode.BadRequest, StatusCode.InvalidArgument);

        var missing = (await admin.PostAsync("/v1/members:resolve", new { phone = TestData.Phone() })).Fails(HttpStatusCode.NotFound, StatusCode.NotFound);
        Assert.Equal("MEMBER_NOT_FOUND", missing.Reason());

        var orderId = Fresh("O");
        await admin.OkAsync(HttpMethod.Post, "/v1/orders", new { member = new { phone }, channel = "CHANNEL_POS", orderId, storeId = "S001", amountFen = 100, paidAt = Now });
        var reused = (await admin.PostAsync("/v1/orders", new { member = new { phone }, channel = "CHANNEL_POS", orderId, storeId = "S001", amountFen = 200, paidAt = Now }))
            .Fails(HttpStatusCode.Conflict, StatusCode.AlreadyExists);
        Assert.NotNull(reused.Reason());
    }

    [Fact]
    public async Task A_body_with_a_property_the_message_lacks_or_a_value_of_the_wrong_shape_is_400_naming_it_and_records_nothing()
    {
        using var admin = Client(Server.TestKey);
        var phone = TestData.Phone();
        await Server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone));
        var orderId = Fresh("O");
        string Order(string extra) =>
            $"{{\"member\":{{\"phone\":\"{phone}\"}},\"channel\":\"CHANNEL_POS\",\"orderId\":\"{orderId}\",\"storeId\":\"S001\",\"amountFen\":\"100\"{extra}}}";

        var cases = new (string Body, string? Field)[]
        {
            (Order(",\"storeID\":\"S009\""), "storeID"), // a typo that transcoding alone would skip
            (Order(",\"paidTime\":\"2026-11-20T10:00:00Z\""), "paidTime"),
            (Order(",\"member\":{\"phone\":\"1\",\"openid\":\"x\"}"), "member.openid"),
            (Order(",\"amountFen\":true"), "amount_fen"),
            (Order(",\"amountFen\":\"1.50\""), "amount_fen"),
            (Order(",\"amountFen\":\"99999999999999999999\""), "amount_fen"),
            (Order(",\"orderId\":[\"a\"]"), "order_id"),
            (Order(",\"channel\":\"CHANNEL_TILL\""), "channel"),
            (Order(",\"paidAt\":\"yesterday\""), "paid_at"),
            (Order(",\"member\":{\"phone\":13800000000}"), "member.phone"),
            (Order(",\"member\":{\"phone\":\"" + phone + "\",\"memberId\":\"m1\"}"), "member.member_id"),
            (Order(",\"member\":\"" + phone + "\""), "member"),
            (Order("").TrimEnd('}'), null), // cut short
        };
        foreach (var (body, field) in cases)
        {
            var refused = (await admin.SendAsync(HttpMethod.Post, "/v1/orders", body)).Fails(HttpStatusCode.BadRequest, StatusCode.InvalidArgument);
            Assert.True(refused.Reason() == "MALFORMED_REQUEST", body + " -> " + refused.ToJsonString());
            Assert.Equal(field is null ? [] : [field], refused.BadFields());
        }
        var notUtf8 = System.Text.Encoding.UTF8.GetBytes(Order("")).Concat(new byte[] { 0xC3, 0x28 }).ToArray();
        var garbled = (await admin.SendAsync(HttpMethod.Post, "/v1/orders", notUtf8)).Fails(HttpStatusCode.BadRequest, StatusCode.InvalidArgument);
        Assert.Equal("MALFORMED_REQUEST", garbled.Reason());

        // Nothing was recorded: the same order, well formed, is new; proto field names are as good as JSON names.
        var recorded = await admin.OkAsync(HttpMethod.Post, "/v1/orders",
            new { member = new { phone }, channel = "CHANNEL_POS", order_id = orderId, store_id = "S001", amount_fen = 100, paid_at = Now });
        Assert.NotEqual(true, (bool?)recorded["replayed"]);
        Assert.Single((await Server.Loyalty.ListPointsEntriesAsync(new ListPointsEntriesRequest { Member = new MemberKey { Phone = phone } })).Entries);
    }

    [Fact]
    public async Task A_client_over_its_rate_is_429_with_retry_after()
    {
        using var slow = Client(await Server.CreateClientAsync("slow", ClientRole.Pos, requestsPerSecond: 2));
        (HttpStatusCode Status, JsonNode? Body, HttpResponseMessage Response) reply = default;
        for (var i = 0; i < 20 && reply.Status != HttpStatusCode.TooManyRequests; i++)
            reply = await slow.SendAsync(HttpMethod.Get, "/v1/program");
        var status = reply.Fails(HttpStatusCode.TooManyRequests, StatusCode.ResourceExhausted);
        Assert.Equal("RATE_LIMITED", status.Reason());
        Assert.NotNull(reply.Response!.Headers.RetryAfter);
    }

    [Fact]
    public async Task Each_route_answers_only_on_its_own_endpoint()
    {
        var body = new { phone = TestData.Phone() };
        // The gRPC method's own path is not served as JSON, and the JSON routes are not on Management.
        using (var http = Client(Server.TestKey))
        {
            Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync("/identity.v1.MemberService/ResolveMember", body)).Status);
            Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync(HttpMethod.Get, "/readyz")).Status);
            Assert.Equal(HttpStatusCode.NotFound, (await http.SendAsync(HttpMethod.Get, "/healthz")).Status);
        }
        using (var management = new JsonClient(Server.ManagementAddress, Server.TestKey))
        {
            Assert.Equal(HttpStatusCode.NotFound, (await management.PostAsync("/v1/members:resolve", body)).Status);
            Assert.Equal(HttpStatusCode.NotFound, (await management.PostAsync("/identity.v1.MemberService/ResolveMember", body)).Status);
            Assert.Equal(HttpStatusCode.OK, (await management.SendAsync(HttpMethod.Get, "/healthz")).Status);
        }
        // On the gRPC endpoint (h2c), neither JSON nor probes.
        using var h2c = new HttpClient { BaseAddress = new Uri(Server.Address), DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        Assert.Equal(HttpStatusCode.NotFound, (await h2c.GetAsync("/readyz")).StatusCode);
        using var json = new StringContent("{}", System.Text.Encoding.UTF8, "application/json");
        Assert.Equal(HttpStatusCode.NotFound, (await h2c.PostAsync("/v1/members:resolve", json)).StatusCode);
        // And gRPC still works there.
        await Server.Members.EnrollMemberAsync(TestData.EnrollAtPos(TestData.Phone()));
    }

    /// <summary>The README's curl line, sent as it is written (route, headers, body) with this server's key.</summary>
    [Fact]
    public async Task The_readme_curl_example_works()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Identity.sln")))
            directory = directory.Parent;
        var readme = File.ReadAllLines(Path.Combine(directory!.FullName, "README.md"));
        var section = Array.FindIndex(readme, l => l == "## JSON over HTTP");
        Assert.True(section >= 0, "the README has no 'JSON over HTTP' section");
        var curl = readme.Skip(section).First(l => l.StartsWith("curl ", StringComparison.Ordinal));
        var match = System.Text.RegularExpressions.Regex.Match(curl,
            @"^curl -s -X POST http://127\.0\.0\.1:5101(?<path>\S+) -H ""authorization: Bearer \$\(cat data/admin\.key\)"" -H ""content-type: application/json"" -d '(?<body>[^']*)'$");
        Assert.True(match.Success, "the README's curl line changed shape: " + curl);

        await Server.Members.EnrollMemberAsync(TestData.EnrollAtPos("13800138000"));
        using var client = Client(Server.BootstrapKey);
        var (status, reply, _) = await client.SendAsync(HttpMethod.Post, match.Groups["path"].Value, match.Groups["body"].Value);
        Assert.True(status == HttpStatusCode.OK, $"{(int)status} {reply?.ToJsonString()}");
        Assert.Equal("138****8000", (string?)reply!["member"]!["maskedPhone"]);
    }
}
