using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Identity.IntegrationTests.Telemetry;

/// <summary>
/// After a workload of enrolments, resolves, binds, orders and errors with known phones, names, keys and ids, no span
/// (name, attribute, event, status) and no metric label or scrape line carries any of them.
/// </summary>
public sealed class TelemetryPrivacyTests : IAsyncLifetime
{
    RedisProcess redis = null!;

    public async Task InitializeAsync() => redis = await RedisProcess.StartAsync();

    public async Task DisposeAsync() => await redis.DisposeAsync();

    [Fact]
    public async Task No_span_or_metric_carries_a_phone_name_key_or_id()
    {
        var (server, spans) = await SpanLog.StartServerAsync(redis);
        await using var _ = server;
        var phone = TestData.Phone();
        var otherPhone = TestData.Phone();
        var unknownPhone = TestData.Phone();
        var openId = TestData.OpenId();
        var secondOpenId = TestData.OpenId();
        const string Name = "王秀英";
        const string NewName = "韩梅梅";
        var madeUpKey = "idk_" + Guid.NewGuid().ToString("N");
        var posKey = await server.CreateClientAsync("privacy-pos", ClientRole.Pos);

        var member = (await server.Members.EnrollMemberAsync(new EnrollMemberRequest
        {
            Phone = phone, Profile = new Profile { Name = Name, Birthday = "1990-05-04" }, ChannelIdentity = TestData.MiniProgram(openId), Source = TestData.Pos(),
        })).Member;
        var other = (await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(otherPhone, "张伟"))).Member;
        foreach (var form in new[] { phone, TestData.CrmForm(phone), TestData.FullWidthForm(phone) })
            await server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = form, BenefitContext = new BenefitContext { Channel = Channel.Pos } });
        await server.Members.ResolveMemberAsync(new ResolveMemberRequest { ChannelIdentity = TestData.MiniProgram(openId) });
        await server.Members.ResolveMemberAsync(new ResolveMemberRequest { MemberId = member.MemberId });
        await server.Members.BindChannelIdentityAsync(new BindChannelIdentityRequest
        {
            MemberId = member.MemberId, ChannelIdentity = TestData.MiniProgram(secondOpenId), Source = TestData.MiniProgramSource(),
        });
        await server.Members.UpdateProfileAsync(new UpdateProfileRequest { MemberId = member.MemberId, Profile = new Profile { Name = NewName } });
        await server.Loyalty.RecordOrderAsync(new RecordOrderRequest
        {
            Member = new MemberKey { Phone = phone }, Channel = Channel.Pos, OrderId = "O-" + Guid.NewGuid().ToString("N"), AmountFen = 10_000,
            PaidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        });

        // Errors, each of which names (or is about) personal data.
        await Rpc.FailsWith(StatusCode.NotFound, server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = unknownPhone }));
        await Rpc.FailsWith(StatusCode.InvalidArgument, server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone + "9" }));
        await Rpc.FailsWith(StatusCode.NotFound, server.Members.ResolveMemberAsync(new ResolveMemberRequest { ChannelIdentity = TestData.MiniProgram(openId + "x") }));
        await Assert.ThrowsAsync<RpcException>(() => server.Members.BindChannelIdentityAsync(new BindChannelIdentityRequest
        {
            MemberId = other.MemberId, ChannelIdentity = TestData.MiniProgram(openId), Source = TestData.MiniProgramSource(),
        }).ResponseAsync);
        await Assert.ThrowsAsync<RpcException>(() => server.Members.ChangePhoneAsync(new ChangePhoneRequest { MemberId = other.MemberId, NewPhone = phone }).ResponseAsync);
        await Rpc.FailsWith(StatusCode.Unauthenticated, server.MembersAs(madeUpKey).ResolveMemberAsync(new ResolveMemberRequest { Phone = phone }));
        await Rpc.FailsWith(StatusCode.PermissionDenied, new AdminService.AdminServiceClient(server.WithKey(posKey)).ListClientsAsync(new ListClientsRequest()));

        var exported = await spans.WaitForAsync(s => s.Source.Name == SpanLog.RedisSource);
        var scrape = await Scrape.OfAsync(server);

        string[] secrets =
        [
            phone, otherPhone, unknownPhone, phone[3..], "+86" + phone, openId, secondOpenId, Name, NewName, "张伟",
            server.TestKey, server.BootstrapKey, posKey, madeUpKey, member.MemberId, other.MemberId,
        ];
        Assert.Contains(exported, s => s.Kind == ActivityKind.Server);
        Assert.Contains(exported, s => s.Source.Name == SpanLog.EfSource);
        Assert.Contains(exported, s => s.Source.Name == SpanLog.RedisSource);
        var leaks = exported.SelectMany(Texts).Concat(scrape.Samples.SelectMany(s => s.Labels.Values).Append(scrape.Text))
            .SelectMany(text => secrets.Where(secret => text.Contains(secret, StringComparison.Ordinal)).Select(secret => $"'{secret}' in '{text}'"))
            .Distinct().ToList();
        Assert.True(leaks.Count == 0, "Telemetry carries personal data or keys: " + string.Join("; ", leaks.Take(10)));
    }

    /// <summary>Everything an exporter would send of a span.</summary>
    static IEnumerable<string> Texts(Activity span)
    {
        yield return span.DisplayName;
        yield return span.OperationName;
        if (span.StatusDescription is { } description)
            yield return description;
        foreach (var (key, value) in span.TagObjects)
            yield return $"{key}={value}";
        foreach (var (key, value) in span.Baggage)
            yield return $"{key}={value}";
        foreach (var @event in span.Events)
        {
            yield return @event.Name;
            foreach (var (key, value) in @event.Tags)
                yield return $"{key}={value}";
        }
    }
}
