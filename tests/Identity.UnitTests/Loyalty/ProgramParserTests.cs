using Identity.Service.Loyalty;
using Identity.V1;

namespace Identity.UnitTests.Loyalty;

public sealed class ProgramParserTests
{
    private const string Tiers = """
        [ { "code": "regular", "name": "R", "growthThreshold": 0 },
          { "code": "gold", "name": "G", "growthThreshold": 100 },
          { "code": "black", "name": "B", "paid": { "priceFen": 100, "termDays": 30 } } ]
        """;

    private static string Doc(string rest = "") => "{ \"name\": \"T\", \"tiers\": " + Tiers + rest + " }";

    private static string WithTiers(string tiers) => "{ \"name\": \"T\", \"tiers\": " + tiers + " }";

    private static string WithBenefit(string benefit) => Doc(", \"benefits\": [" + benefit + "]");

    public static TheoryData<string, string, string[]> BrokenDocuments => new()
    {
        // syntax: one problem where it broke
        { "empty", "", ["$"] },
        { "not an object", "[1, 2]", ["$"] },
        { "missing comma between properties", """{ "name": "T", "tiers": [ { "code": "a" "name": "A" } ] }""", ["$.tiers[0].code"] },
        { "double comma", """{ "name": "T", "stacking": { "discount": "best",, } }""", ["$.stacking.discount"] },
        { "bad literal", """{ "name": "T", "tiers": [ {}, { "code": tru } ] }""", ["$.tiers[1].code"] },
        { "text after the document", """{ "name": "T" } x""", ["$"] },
        { "unterminated comment", """{ "name": "T", /* note""", ["$.name"] },
        // root
        { "no name", WithTiers(Tiers).Replace("\"name\": \"T\",", ""), ["$.name"] },
        { "unknown root property", Doc(", \"tier\": []"), ["$.tier"] },
        { "duplicate property", Doc(", \"name\": \"U\""), ["$.name"] },
        { "odd property name", Doc(", \"my prop\": 1"), ["$['my prop']"] },
        { "unknown time zone", Doc(", \"timeZone\": \"Mars/Olympus\""), ["$.timeZone"] },
        // tiers
        { "no tiers", """{ "name": "T" }""", ["$.tiers"] },
        { "empty ladder", WithTiers("[]"), ["$.tiers"] },
        { "bad code", WithTiers("""[{ "code": "Gold", "name": "G", "growthThreshold": 0 }]"""), ["$.tiers[0].code"] },
        { "duplicate code", WithTiers("""[{ "code": "a", "name": "A", "growthThreshold": 0 }, { "code": "a", "name": "B", "growthThreshold": 5 }]"""),
            ["$.tiers[1].code"] },
        { "first threshold not 0", WithTiers("""[{ "code": "a", "name": "A", "growthThreshold": 10 }]"""), ["$.tiers[0].growthThreshold"] },
        { "thresholds not increasing", WithTiers("""
            [{ "code": "a", "name": "A", "growthThreshold": 0 }, { "code": "b", "name": "B", "growthThreshold": 500 },
             { "code": "c", "name": "C", "growthThreshold": 500 }]
            """), ["$.tiers[2].growthThreshold"] },
        { "growth tier after a paid tier", WithTiers("""
            [{ "code": "a", "name": "A", "growthThreshold": 0 }, { "code": "p", "name": "P", "paid": { "priceFen": 1, "termDays": 1 } },
             { "code": "b", "name": "B", "growthThreshold": 500 }]
            """), ["$.tiers[2]"] },
        { "only paid tiers", WithTiers("""[{ "code": "p", "name": "P", "paid": { "priceFen": 1, "termDays": 1 } }]"""), ["$.tiers"] },
        { "threshold and paid", WithTiers("""
            [{ "code": "a", "name": "A", "growthThreshold": 0 }, { "code": "p", "name": "P", "growthThreshold": 9, "paid": { "priceFen": 1, "termDays": 1 } }]
            """), ["$.tiers[1]"] },
        { "neither threshold nor paid", WithTiers("""[{ "code": "a", "name": "A", "growthThreshold": 0 }, { "code": "b", "name": "B" }]"""),
            ["$.tiers[1]"] },
        { "threshold as a string", WithTiers("""[{ "code": "a", "name": "A", "growthThreshold": "0" }]"""), ["$.tiers[0].growthThreshold"] },
        { "paid term 0 and a typo", WithTiers("""
            [{ "code": "a", "name": "A", "growthThreshold": 0 }, { "code": "p", "name": "P", "paid": { "priceFen": 1, "termDays": 0, "price": 5 } }]
            """), ["$.tiers[1].paid.termDays", "$.tiers[1].paid.price"] },
        // growth and points
        { "window too long", Doc(", \"growth\": { \"windowMonths\": 37 }"), ["$.growth.windowMonths"] },
        { "no drop allowed", Doc(", \"growth\": { \"maxDropTiers\": 0 }"), ["$.growth.maxDropTiers"] },
        { "growth rate too precise", Doc(", \"growth\": { \"perYuan\": 0.0005 }"), ["$.growth.perYuan"] },
        { "unknown expiry kind", Doc(", \"points\": { \"expiry\": { \"kind\": \"weekly\" } }"), ["$.points.expiry.kind"] },
        { "end of year in 18 months", Doc(", \"points\": { \"expiry\": { \"kind\": \"endOfYear\", \"months\": 18 } }"), ["$.points.expiry.months"] },
        { "negative partner rate", Doc(", \"points\": { \"partnerPerYuan\": -0.5 }"), ["$.points.partnerPerYuan"] },
        { "check-in typo", Doc(", \"points\": { \"checkinPoints\": 5 }"), ["$.points.checkinPoints"] },
        // benefits
        { "unknown kind", WithBenefit("""{ "code": "x", "kind": "cashback", "name": "X" }"""), ["$.benefits[0].kind"] },
        { "discount of 100%", WithBenefit("""{ "code": "x", "kind": "discount", "name": "X", "percentOff": 100 }"""), ["$.benefits[0].percentOff"] },
        { "discount of 0%", WithBenefit("""{ "code": "x", "kind": "discount", "name": "X", "percentOff": 0 }"""), ["$.benefits[0].percentOff"] },
        { "discount in thousandths of a percent", WithBenefit("""{ "code": "x", "kind": "discount", "name": "X", "percentOff": 12.345 }"""),
            ["$.benefits[0].percentOff"] },
        { "discount without percentOff", WithBenefit("""{ "code": "x", "kind": "discount", "name": "X" }"""), ["$.benefits[0].percentOff"] },
        { "multiplier of 1", WithBenefit("""{ "code": "x", "kind": "pointsMultiplier", "name": "X", "multiplier": 1 }"""),
            ["$.benefits[0].multiplier"] },
        { "multiplier over 10", WithBenefit("""{ "code": "x", "kind": "pointsMultiplier", "name": "X", "multiplier": 10.5 }"""),
            ["$.benefits[0].multiplier"] },
        { "percentOff on a multiplier", WithBenefit("""{ "code": "x", "kind": "pointsMultiplier", "name": "X", "multiplier": 2, "percentOff": 5 }"""),
            ["$.benefits[0].percentOff"] },
        { "gift without value", WithBenefit("""{ "code": "x", "kind": "birthdayGift", "name": "X" }"""), ["$.benefits[0].value"] },
        { "value on a discount", WithBenefit("""{ "code": "x", "kind": "discount", "name": "X", "percentOff": 5, "value": "v" }"""),
            ["$.benefits[0].value"] },
        { "unknown tier", WithBenefit("""{ "code": "x", "kind": "freeShipping", "name": "X", "tiers": ["gold", "silver"] }"""),
            ["$.benefits[0].tiers[1]"] },
        { "duplicate benefit code", Doc("""
            , "benefits": [{ "code": "x", "kind": "freeShipping", "name": "X" }, { "code": "x", "kind": "freeShipping", "name": "Y" }]
            """), ["$.benefits[1].code"] },
        { "unknown channel", WithBenefit("""{ "code": "x", "kind": "freeShipping", "name": "X", "conditions": { "channels": ["pos", "wechat"] } }"""),
            ["$.benefits[0].conditions.channels[1]"] },
        { "no channels", WithBenefit("""{ "code": "x", "kind": "freeShipping", "name": "X", "conditions": { "channels": [] } }"""),
            ["$.benefits[0].conditions.channels"] },
        { "abbreviated weekday", WithBenefit("""{ "code": "x", "kind": "freeShipping", "name": "X", "conditions": { "weekdays": ["Wed"] } }"""),
            ["$.benefits[0].conditions.weekdays[0]"] },
        { "empty store id", WithBenefit("""{ "code": "x", "kind": "freeShipping", "name": "X", "conditions": { "stores": ["S1", " "] } }"""),
            ["$.benefits[0].conditions.stores[1]"] },
        { "impossible date", WithBenefit("""{ "code": "x", "kind": "freeShipping", "name": "X", "conditions": { "from": "2026-02-30" } }"""),
            ["$.benefits[0].conditions.from"] },
        { "range ends before it starts", WithBenefit("""
            { "code": "x", "kind": "freeShipping", "name": "X", "conditions": { "from": "2026-06-01", "to": "2026-05-31" } }
            """), ["$.benefits[0].conditions.to"] },
        { "condition typo", WithBenefit("""{ "code": "x", "kind": "freeShipping", "name": "X", "conditions": { "birthday": true } }"""),
            ["$.benefits[0].conditions.birthday"] },
        { "paid only on growth tiers", WithBenefit("""
            { "code": "x", "kind": "freeShipping", "name": "X", "tiers": ["gold"], "conditions": { "paidOnly": true } }
            """), ["$.benefits[0].conditions.paidOnly"] },
        { "paid only without paid tiers", """
            { "name": "T", "tiers": [{ "code": "a", "name": "A", "growthThreshold": 0 }],
              "benefits": [{ "code": "x", "kind": "freeShipping", "name": "X", "conditions": { "paidOnly": true } }] }
            """, ["$.benefits[0].conditions.paidOnly"] },
        { "birthdayMonth not a boolean", WithBenefit("""{ "code": "x", "kind": "freeShipping", "name": "X", "conditions": { "birthdayMonth": 1 } }"""),
            ["$.benefits[0].conditions.birthdayMonth"] },
        // stacking
        { "unknown discount stacking", Doc(", \"stacking\": { \"discount\": \"max\" }"), ["$.stacking.discount"] },
        { "unknown multiplier stacking", Doc(", \"stacking\": { \"multiplier\": \"sum\" }"), ["$.stacking.multiplier"] },
        { "cap of 100%", Doc(", \"stacking\": { \"maxPercentOff\": 100 }"), ["$.stacking.maxPercentOff"] },
        { "cap below 1x", Doc(", \"stacking\": { \"maxMultiplier\": 0.5 }"), ["$.stacking.maxMultiplier"] },
    };

    [Theory]
    [MemberData(nameof(BrokenDocuments))]
    public void Broken_documents_name_each_problem_path(string what, string json, string[] paths)
    {
        var result = ProgramParser.Parse(json);

        Assert.False(result.IsValid, what);
        Assert.Null(result.Program);
        Assert.Equal(paths.Order(StringComparer.Ordinal), result.Problems.Select(p => p.Path).Order(StringComparer.Ordinal));
        Assert.All(result.Problems, p => Assert.False(string.IsNullOrWhiteSpace(p.Message)));
    }

    [Fact]
    public void Every_problem_in_a_document_is_listed()
    {
        const string json = """
            {
              "name": "",
              "timezone": "Asia/Shanghai",
              "tiers": [
                { "code": "regular", "name": "R", "growthThreshold": 0 },
                { "code": "silver", "name": "S", "growthThreshold": 0 },
                { "code": "black", "name": "B", "paid": { "priceFen": -1, "termDays": 365 } },
              ],
              "growth": { "windowMonths": 0, "assesmentMonths": 12 },
              "points": { "expiry": { "kind": "endOfYear", "months": 13 } },
              "benefits": [
                { "code": "d", "kind": "discount", "name": "D", "percentOff": 150, "tiers": ["gold"] },
                { "code": "d", "kind": "pointsMultiplier", "name": "M", "multiplier": 2, "conditions": { "channels": ["minProgram"] } },
              ],
              "stacking": { "discount": "best", "multiplier": "sumbonus" },
            }
            """;

        var problems = ProgramParser.Parse(json).Problems;

        Assert.Equal(
            new[]
            {
                "$.name",
                "$.timezone",
                "$.tiers[1].growthThreshold",
                "$.tiers[2].paid.priceFen",
                "$.growth.windowMonths",
                "$.growth.assesmentMonths",
                "$.points.expiry.months",
                "$.benefits[0].percentOff",
                "$.benefits[0].tiers[0]",
                "$.benefits[1].code",
                "$.benefits[1].conditions.channels[0]",
                "$.stacking.multiplier",
            }.Order(StringComparer.Ordinal),
            problems.Select(p => p.Path).Order(StringComparer.Ordinal));
        Assert.Contains(problems, p => p.Path == "$.timezone" && p.Message.Contains("did you mean 'timeZone'", StringComparison.Ordinal));
        Assert.Contains(problems, p => p.Path == "$.stacking.multiplier" && p.Message.Contains("did you mean 'sumBonus'", StringComparison.Ordinal));
    }

    [Fact]
    public void Malformed_json_is_one_problem_with_its_position()
    {
        var problem = Assert.Single(ProgramParser.Parse("{\n  \"name\": \"T\",\n  \"tiers\": [ { \"code\": tru } ]\n}").Problems);
        Assert.Equal("$.tiers[0].code", problem.Path);
        Assert.StartsWith("malformed JSON at line 3,", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Deeply_nested_input_is_a_problem_not_a_crash()
    {
        var json = "{ \"name\": " + new string('[', 10_000) + new string(']', 10_000) + " }";
        Assert.Single(ProgramParser.Parse(json).Problems);
    }

    [Fact]
    public void Comments_trailing_commas_and_defaults()
    {
        var result = ProgramParser.Parse("""
            // a brand's program
            {
              "name": "T", /* display name */
              "tiers": [ { "code": "regular", "name": "R", "growthThreshold": 0, }, ],
            }
            """);

        Assert.True(result.IsValid, string.Join("; ", result.Problems));
        var p = result.Program!;
        Assert.Equal(0, p.Version);
        Assert.Equal("Asia/Shanghai", p.TimeZone.Id);
        Assert.Equal(new GrowthRules(1000, 12, 12, 1), p.Growth);
        Assert.Equal(new PointsRules(1000, 0, new PointsExpiry(PointsExpiryKind.EndOfYear, 12), 0), p.Points);
        Assert.Empty(p.Benefits);
        Assert.Equal(new StackingRules(DiscountStacking.Best, MultiplierStacking.Best, 5000, 10_000), p.Stacking);
    }

    [Fact]
    public void Decimals_become_basis_points_and_thousandths()
    {
        var result = ProgramParser.Parse(Doc("""
            , "growth": { "perYuan": 1.5, "windowMonths": 6, "assessmentMonths": 3, "maxDropTiers": 2 },
              "points": { "perYuan": 2, "partnerPerYuan": 0.25, "checkInPoints": 10, "expiry": { "kind": "rollingMonths", "months": 24 } },
              "benefits": [
                { "code": "d", "kind": "discount", "name": "D", "percentOff": 12.5 },
                { "code": "m", "kind": "pointsMultiplier", "name": "M", "multiplier": 1.25 } ],
              "stacking": { "discount": "sum", "multiplier": "product", "maxPercentOff": 33.33, "maxMultiplier": 4.5 }
            """));

        Assert.True(result.IsValid, string.Join("; ", result.Problems));
        var p = result.Program!;
        Assert.Equal(new GrowthRules(1500, 6, 3, 2), p.Growth);
        Assert.Equal(new PointsRules(2000, 250, new PointsExpiry(PointsExpiryKind.RollingMonths, 24), 10), p.Points);
        Assert.Equal(1250, p.Benefits[0].DiscountBp);
        Assert.Equal(1250, p.Benefits[1].MultiplierMilli);
        Assert.Equal(new StackingRules(DiscountStacking.Sum, MultiplierStacking.Product, 3333, 4500), p.Stacking);
    }

    [Fact]
    public void Tiers_are_ranked_in_ladder_order()
    {
        var p = ProgramParser.Parse(Doc()).Program!;
        Assert.Equal(
            [new("regular", "R", 0, 0, null), new("gold", "G", 1, 100, null), new TierDefinition("black", "B", 2, 0, new PaidTerms(100, 30))],
            p.Tiers);
    }

    [Fact]
    public void Conditions_are_read_into_sets()
    {
        var p = ProgramParser.Parse(WithBenefit("""
            { "code": "x", "kind": "service", "name": "X", "value": "service:x", "tiers": ["gold", "black"],
              "conditions": { "channels": ["pos", "wechatMiniProgram"], "stores": ["S1"], "birthdayMonth": true,
                              "weekdays": ["wednesday", "sunday"], "from": "2026-01-01", "to": null, "paidOnly": true } }
            """)).Program!;

        var b = Assert.Single(p.Benefits);
        Assert.Equal(["black", "gold"], b.Tiers.Order(StringComparer.Ordinal));
        Assert.Equal([Channel.Pos, Channel.WechatMiniProgram], b.Conditions.Channels!.Order());
        Assert.Equal(["S1"], b.Conditions.Stores!);
        Assert.True(b.Conditions.BirthdayMonth);
        Assert.Equal([DayOfWeek.Sunday, DayOfWeek.Wednesday], b.Conditions.Weekdays!.Order());
        Assert.Equal(new DateOnly(2026, 1, 1), b.Conditions.From);
        Assert.Null(b.Conditions.To);
        Assert.True(b.Conditions.PaidOnly);
    }

    [Theory]
    [InlineData("pos", Channel.Pos)]
    [InlineData("wechatMiniProgram", Channel.WechatMiniProgram)]
    [InlineData("wechatOfficialAccount", Channel.WechatOfficialAccount)]
    [InlineData("wecom", Channel.Wecom)]
    [InlineData("app", Channel.App)]
    [InlineData("tmall", Channel.Tmall)]
    [InlineData("jd", Channel.Jd)]
    [InlineData("douyin", Channel.Douyin)]
    [InlineData("partner", Channel.Partner)]
    [InlineData("crmImport", Channel.CrmImport)]
    public void Channel_names_are_the_proto_names_in_camel_case(string name, Channel channel)
    {
        var p = ProgramParser.Parse(WithBenefit($$"""{ "code": "x", "kind": "freeShipping", "name": "X", "conditions": { "channels": ["{{name}}"] } }"""));
        Assert.Equal([channel], p.Program!.Benefits[0].Conditions.Channels!);
    }

    [Fact]
    public void Unspecified_is_no_channel_name()
    {
        var p = ProgramParser.Parse(WithBenefit("""{ "code": "x", "kind": "freeShipping", "name": "X", "conditions": { "channels": ["unspecified"] } }"""));
        Assert.Equal("$.benefits[0].conditions.channels[0]", Assert.Single(p.Problems).Path);
    }

    [Fact]
    public void Shanghai_resolves_as_an_iana_zone()
    {
        var p = ProgramParser.Parse(Doc(", \"timeZone\": \"Europe/Paris\"")).Program!;
        Assert.Equal("Europe/Paris", p.TimeZone.Id);
        Assert.Equal(TimeSpan.FromHours(8), ProgramParser.Parse(Doc()).Program!.TimeZone.GetUtcOffset(DateTimeOffset.UnixEpoch.AddYears(56)));
    }
}
