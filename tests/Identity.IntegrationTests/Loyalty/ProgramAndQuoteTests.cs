using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Identity.IntegrationTests.Loyalty;

/// <summary>The program is data: published through the API, validated, in force at once; the POS gets the quote in one call.</summary>
public sealed class ProgramAndQuoteTests : IAsyncLifetime
{
    IdentityServer server = null!;

    public async Task InitializeAsync() => server = await IdentityServer.StartAsync();

    public async Task DisposeAsync() => await server.DisposeAsync();

    [Fact]
    public async Task Resolving_with_a_context_returns_the_member_and_its_benefits_in_one_call()
    {
        var phone = TestData.Phone();
        var enrolled = await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone));
        await server.Loyalty.RecordOrderAsync(new RecordOrderRequest
        {
            Member = new MemberKey { Phone = phone }, Channel = Channel.Pos, OrderId = "O-1", StoreId = "S001", AmountFen = 600_000,
            PaidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        });

        var resolved = await server.Members.ResolveMemberAsync(new ResolveMemberRequest
        {
            Phone = TestData.CrmForm(phone), BenefitContext = new BenefitContext { Channel = Channel.Pos, StoreId = "S001" },
        });

        Assert.Equal(enrolled.Member.MemberId, resolved.Member.MemberId);
        Assert.Equal("gold", resolved.Benefits.Tier.Code);
        Assert.Equal(1000, resolved.Benefits.EffectiveDiscountBp);
        Assert.Contains(resolved.Benefits.Benefits, b => b.Code == "beauty-consultation" && b.Kind == BenefitKind.Service);
        Assert.All(resolved.Benefits.Benefits, b => Assert.False(string.IsNullOrWhiteSpace(b.Reason)));

        // Online, the same member gets free shipping instead of the in-store consultation.
        var online = await server.Loyalty.GetBenefitsAsync(new GetBenefitsRequest
        {
            Member = new MemberKey { MemberId = enrolled.Member.MemberId }, Context = new BenefitContext { Channel = Channel.Tmall },
        });
        Assert.Contains(online.Quote.Benefits, b => b.Kind == BenefitKind.FreeShipping);
        Assert.DoesNotContain(online.Quote.Benefits, b => b.Kind == BenefitKind.Service);

        // Without a context, no quote is computed.
        var plain = await server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone });
        Assert.Null(plain.Benefits);
    }

    [Fact]
    public async Task An_invalid_program_is_refused_with_every_problem_and_a_valid_one_is_in_force_at_once()
    {
        var current = await server.Loyalty.GetProgramAsync(new GetProgramRequest());
        Assert.Equal(1, current.Version);

        var broken = current.ProgramJson
            .Replace("\"growthThreshold\": 1000", "\"growthThreshold\": -5", StringComparison.Ordinal)
            .Replace("\"timeZone\": \"Asia/Shanghai\"", "\"timeZone\": \"Mars/Olympus\"", StringComparison.Ordinal);
        Assert.NotEqual(current.ProgramJson, broken);
        var refused = await Rpc.FailsWith(StatusCode.InvalidArgument,
            server.Loyalty.PublishProgramAsync(new PublishProgramRequest { ProgramJson = broken }));
        Assert.True(refused.BadFields().Count >= 2);
        Assert.All(refused.BadFields(), f => Assert.Equal("program_json", f));
        Assert.Equal(1, (await server.Loyalty.GetProgramAsync(new GetProgramRequest())).Version);

        var member = new MemberKey
        {
            MemberId = (await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(TestData.Phone()))).Member.MemberId,
        };
        var generous = current.ProgramJson.Replace("\"perYuan\": 1,", "\"perYuan\": 3,", StringComparison.Ordinal);
        Assert.NotEqual(current.ProgramJson, generous);
        var published = await server.Loyalty.PublishProgramAsync(new PublishProgramRequest { ProgramJson = generous, ExpectedVersion = 1 });
        Assert.Equal(2, published.Version);

        var order = await server.Loyalty.RecordOrderAsync(new RecordOrderRequest
        {
            Member = member, Channel = Channel.Pos, OrderId = "O-after-publish", AmountFen = 10_000, PaidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        });
        Assert.Equal(2, (await server.Loyalty.GetBenefitsAsync(new GetBenefitsRequest { Member = member, Context = new BenefitContext { Channel = Channel.Pos } })).Quote.ProgramVersion);
        Assert.True(order.PointsEarned >= 300, "the new points rate applies to the next order");

        var stale = await Rpc.FailsWith(StatusCode.FailedPrecondition,
            server.Loyalty.PublishProgramAsync(new PublishProgramRequest { ProgramJson = current.ProgramJson, ExpectedVersion = 1 }));
        Assert.Equal("PROGRAM_VERSION_MISMATCH", stale.Reason());
        var same = await server.Loyalty.PublishProgramAsync(new PublishProgramRequest { ProgramJson = generous });
        Assert.True(same.Unchanged);
    }
}
