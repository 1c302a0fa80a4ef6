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
        // The path names the member: the same id in the body is harmless, another one is refused rather than ignored.
        await admin.OkAsync(HttpMethod.Patch, $"/v1/members/{memberId}/profile", new { memberId, profile = new { name = "韩梅梅" }, updateMask = "name" });
        var otherId = (await admin.SendAsync(HttpMethod.Patch, $"/v1/members/{memberId}/profile",
                System.Text.Json.JsonSerializer.Serialize(new { memberId = "someone-else", profile = new { name = "王芳" }, updateMask = "name" })))
            .Fails(HttpStatusCode.BadRequest, StatusCode.InvalidArgument);
        Assert.Equal(["member_id"], otherId.BadFields());
        Assert.Equal("MALFORMED_REQUEST", otherId.Reason());

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
        string Order(string extra = "", string? member = null, string amount = "\"100\"", string channel = "\"CHANNEL_POS\"", string? id = null) =>
            $"{{\"member\":{member ?? $"{{\"phone\":\"{phone}\"}}"},\"channel\":{channel},\"orderId\":{id ?? $"\"{orderId}\""},\"storeId\":\"S001\",\"amountFen\":{amount}{extra}}}";

        var cases = new (string Body, string? Field)[]
        {
            (Order(",\"storeID\":\"S009\""), "storeID"), // a typo that transcoding alone would skip
            (Order(",\"paidTime\":\"2026-11-20T10:00:00Z\""), "paidTime"),
            (Order(member: "{\"phone\":\"1\",\"openid\":\"x\"}"), "member.openid"),
            (Order(amount: "true"), "amount_fen"),
            (Order(amount: "\"1.50\""), "amount_fen"),
            (Order(amount: "\"99999999999999999999\""), "amount_fen"),
            (Order(id: "[\"a\"]"), "order_id"),
            (Order(channel: "\"CHANNEL_TILL\""), "channel"),
            (Order(",\"paidAt\":\"yesterday\""), "paid_at"),
            (Order(member: "{\"phone\":13800000000}"), "member.phone"),
            (Order(member: "{\"phone\":\"" + phone + "\",\"memberId\":\"m1\"}"), "member.member_id"),
            (Order(member: "\"" + phone + "\""), "member"),
            (Order().TrimEnd('}'), null), // cut short
            (Order(channel: "\"\\ud800\""), "channel"), // a lone surrogate where an enum name goes
            (Order(member: "{\"phone\":\"\\udfff\"}"), "member.phone"),
            (Order(",\"\\ud800\":1"), null),
            (Order(",\"order_id\":\"" + orderId + "-b\""), "order_id"), // orderId and order_id both: given twice
        };
        foreach (var (body, field) in cases)
        {
            var refused = (await admin.SendAsync(HttpMethod.Post, "/v1/orders", body)).Fails(HttpStatusCode.BadRequest, StatusCode.InvalidArgument);
            Assert.True(refused.Reason() == "MALFORMED_REQUEST", body + " -> " + refused.ToJsonString());
            Assert.Equal(field is null ? [] : [field], refused.BadFields());
        }
        var notUtf8 = System.Text.Encoding.UTF8.GetBytes(Order()).Concat(new byte[] { 0xC3, 0x28 }).ToArray();
        var garbled = (await admin.SendAsync(HttpMethod.Post, "/v1/orders", notUtf8)).Fails(HttpStatusCode.BadRequest, StatusCode.InvalidArgument);
        Assert.Equal("MALFORMED_REQUEST", garbled.Reason());

        // Over the largest request the service takes, even as white space: refused whole, not read without its check.
        var padded = System.Text.Encoding.UTF8.GetBytes(Order(",\"storeID\":\"S009\"" + new string(' ', 1_100_000)));
        var tooLarge = await admin.SendAsync(HttpMethod.Post, "/v1/orders", padded);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooLarge.Status);
        Assert.Equal("REQUEST_TOO_LARGE", tooLarge.Body!.Reason());
        Assert.Equal((int)StatusCode.ResourceExhausted, (int)tooLarge.Body!["code"]!);

        // Nothing was recorded: the same order, well formed, is new; proto field names are as good as JSON names.
        var recorded = await admin.OkAsync(HttpMethod.Post, "/v1/orders",
            new { member = new { phone }, channel = "CHANNEL_POS", order_id = orderId, store_id = "S001", amount_fen = 100, paid_at = Now });
        Assert.NotEqual(true, (bool?)recorded["replayed"]);
        Assert.Single((await Server.Loyalty.ListPointsEntriesAsync(new ListPointsEntriesRequest { Member = new MemberKey { Phone = phone } })).Entries);
    }

    [Fact]
    public async Task Bodies_in_other_charsets_and_spellings_the_protobuf_json_mapping_allows_are_accepted()
    {
        using var admin = Client(Server.TestKey);
        var phone = TestData.Phone();
        string Enroll(string name) =>
            $"{{\"phone\":\"{phone}\",\"profile\":{{\"name\":\"{name}\"}},\"source\":{{\"channel\":\"CHANNEL_POS\",\"storeId\":\"S001\"}}}}";

        // GB18030 (CN systems), UTF-16, and UTF-8 with a byte order mark, each as its Content-Type says.
        System.Text.Encoding.RegisterProvider(System.Text.CodePagesEncodingProvider.Instance);
        var gb = await admin.SendAsync(HttpMethod.Post, "/v1/members:enroll", System.Text.Encoding.GetEncoding("GB18030").GetBytes(Enroll("李雷")), "gb18030");
        Assert.True(gb.Status == HttpStatusCode.OK, gb.Body?.ToJsonString());
        Assert.Equal("李雷", (string?)gb.Body!["member"]!["profile"]!["name"]);
        var utf16 = await admin.SendAsync(HttpMethod.Post, "/v1/members:resolve", System.Text.Encoding.Unicode.GetBytes($"{{\"phone\":\"{phone}\"}}"), "utf-16");
        Assert.True(utf16.Status == HttpStatusCode.OK, utf16.Body?.ToJsonString());
        var bom = await admin.SendAsync(HttpMethod.Post, "/v1/members:resolve", [0xEF, 0xBB, 0xBF, .. System.Text.Encoding.UTF8.GetBytes($"{{\"phone\":\"{phone}\"}}")]);
        Assert.True(bom.Status == HttpStatusCode.OK, bom.Body?.ToJsonString());
        var bigEndian = await admin.SendAsync(HttpMethod.Post, "/v1/members:resolve",
            [0xFE, 0xFF, .. System.Text.Encoding.BigEndianUnicode.GetBytes($"{{\"phone\":\"{phone}\"}}")], "utf-16");
        Assert.True(bigEndian.Status == HttpStatusCode.OK, bigEndian.Body?.ToJsonString());
        foreach (var charset in new[] { "klingon", "utf-7" }) // UTF-7 is known to .NET and disabled
        {
            var unknownCharset = (await admin.SendAsync(HttpMethod.Post, "/v1/members:resolve", System.Text.Encoding.UTF8.GetBytes($"{{\"phone\":\"{phone}\"}}"), charset))
                .Fails(HttpStatusCode.BadRequest, StatusCode.InvalidArgument);
            Assert.Equal("MALFORMED_REQUEST", unknownCharset.Reason());
        }

        // An int32 as a string, integers in exponent form, and null for the other member of a oneof.
        var entries = await admin.SendAsync(HttpMethod.Post, "/v1/points:listEntries", $"{{\"member\":{{\"phone\":\"{phone}\",\"memberId\":null}},\"pageSize\":\"10\"}}");
        Assert.True(entries.Status == HttpStatusCode.OK, entries.Body?.ToJsonString());
        var order = await admin.SendAsync(HttpMethod.Post, "/v1/orders",
            $"{{\"member\":{{\"phone\":\"{phone}\"}},\"channel\":\"CHANNEL_POS\",\"orderId\":\"{Fresh("E")}\",\"storeId\":\"S001\",\"amountFen\":1e4}}");
        Assert.True(order.Status == HttpStatusCode.OK, order.Body?.ToJsonString());
        Assert.Equal("100", (string?)order.Body!["pointsEarned"]); // 1e4 fen is 100 yuan
        // A 64-bit number past 2^53 reaches the RPC exactly (not rounded through a double): its own range check names it.
        var huge = (await admin.SendAsync(HttpMethod.Post, "/v1/orders",
            $"{{\"member\":{{\"phone\":\"{phone}\"}},\"channel\":\"CHANNEL_POS\",\"orderId\":\"{Fresh("E")}\",\"storeId\":\"S001\",\"amountFen\":9223372036854775807}}"))
            .Fails(HttpStatusCode.BadRequest, StatusCode.InvalidArgument);
        Assert.Equal(["amount_fen"], huge.BadFields());

        // No body at all is the empty message: refused by the RPC's own checks, naming what is missing.
        var empty = (await admin.SendAsync(HttpMethod.Post, "/v1/orders", "")).Fails(HttpStatusCode.BadRequest, StatusCode.InvalidArgument);
        Assert.Contains("order_id", empty.BadFields());
    }

    [Fact]
    public async Task A_body_whose_chunked_framing_is_broken_is_400_with_a_reason_and_no_error_in_the_log()
    {
        var uri = new Uri(Server.HttpAddress);
        using var tcp = new System.Net.Sockets.TcpClient();
        await tcp.ConnectAsync(uri.Host, uri.Port);
        var stream = tcp.GetStream();
        var request = $"POST /v1/members:resolve HTTP/1.1\r\nHost: {uri.Host}\r\nauthorization: Bearer {Server.TestKey}\r\n" +
                      "content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n5\r\n{\"pho\r\nZZ\r\n";
        await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream);
        var statusLine = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.StartsWith("HTTP/1.1 400", statusLine, StringComparison.Ordinal);
        var rest = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains("MALFORMED_REQUEST", rest, StringComparison.Ordinal);
        Assert.DoesNotContain(Server.Logs.Lines, line => line.StartsWith("Error ", StringComparison.Ordinal) && line.Contains("chunk", StringComparison.OrdinalIgnoreCase));
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
