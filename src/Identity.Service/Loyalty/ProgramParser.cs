using System.Collections.Frozen;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Identity.V1;

namespace Identity.Service.Loyalty;

/// <summary>
/// Reads a program definition (format in docs/program.md) and validates it, listing every problem with its JSON path
/// rather than stopping at the first, so an operator fixes a document in one round. Never throws on bad input.
/// </summary>
public static partial class ProgramParser
{
    public const string DefaultTimeZone = "Asia/Shanghai";
    public const int MaxTiers = 32;
    public const int MaxBenefits = 256;
    public const int MaxNameLength = 64;
    public const int MaxValueLength = 128;
    public const int MaxStoreIdLength = 64;
    public const int MaxDepth = 32;

    private static readonly JsonReaderOptions ReaderOptions =
        new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, MaxDepth = MaxDepth };

    private static readonly JsonDocumentOptions DocumentOptions =
        new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true, MaxDepth = MaxDepth };

    /// <summary>The program, or every problem found. The program's <see cref="LoyaltyProgram.Version"/> is 0: publishing assigns it.</summary>
    public static ProgramParseResult Parse(string json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return new(null, [new("$", "the document is empty; expected a JSON object")]);
        }

        var utf8 = Encoding.UTF8.GetBytes(json);
        if (SyntaxProblem(utf8) is { } broken)
        {
            return new(null, [broken]);
        }

        using var document = JsonDocument.Parse(utf8, DocumentOptions);
        var reader = new DocumentReader();
        var program = reader.ReadProgram(document.RootElement);
        return reader.Problems.Count == 0 && program is not null ? new(program, []) : new(null, reader.Problems);
    }

    /// <summary>
    /// Walks the tokens once to find where malformed JSON breaks, because <see cref="JsonDocument"/> reports only a
    /// line and byte offset, and an operator editing a long document needs the path too.
    /// </summary>
    private static ProgramProblem? SyntaxProblem(byte[] utf8)
    {
        var reader = new Utf8JsonReader(utf8, ReaderOptions);
        var frames = new List<Frame>();
        try
        {
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        frames[^1] = frames[^1] with { Property = reader.GetString() };
                        break;
                    case JsonTokenType.StartObject or JsonTokenType.StartArray:
                        BeginValue(frames);
                        frames.Add(new Frame(reader.TokenType == JsonTokenType.StartArray, -1, null));
                        break;
                    case JsonTokenType.EndObject or JsonTokenType.EndArray:
                        frames.RemoveAt(frames.Count - 1);
                        break;
                    default:
                        BeginValue(frames);
                        break;
                }
            }

            return null;
        }
        catch (JsonException e)
        {
            var path = new StringBuilder("$");
            foreach (var frame in frames)
            {
                if (frame.IsArray)
                {
                    path.Append('[').Append(Math.Max(frame.Index, 0)).Append(']');
                }
                else if (frame.Property is { } property)
                {
                    path.Append(Member(property));
                }
            }

            var message = e.Message;
            var position = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
            if (position > 0)
            {
                message = message[..position];
            }

            return new(path.ToString(), $"malformed JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}: {message}");
        }

        // The path is that of the last property or element read: the break is in it or right after it.
        static void BeginValue(List<Frame> frames)
        {
            if (frames.Count > 0 && frames[^1].IsArray)
            {
                frames[^1] = frames[^1] with { Index = frames[^1].Index + 1 };
            }
        }
    }

    private readonly record struct Frame(bool IsArray, int Index, string? Property);

    /// <summary>A path step: <c>.name</c>, or <c>['odd name']</c> when the name is not an identifier.</summary>
    private static string Member(string name) =>
        IdentifierPattern().IsMatch(name) ? "." + name : "['" + name.Replace("\\", "\\\\").Replace("'", "\\'") + "']";

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex IdentifierPattern();

    [GeneratedRegex("^[a-z0-9_-]{1,32}$")]
    private static partial Regex CodePattern();

    /// <summary>An object's properties after unknown and duplicate names were reported.</summary>
    private sealed class Properties(string path, Dictionary<string, JsonElement> values)
    {
        public string Path { get; } = path;

        public string PathOf(string name) => Path + "." + name;

        /// <summary>JSON null counts as absent, so <c>"to": null</c> reads like no end date.</summary>
        public bool TryGet(string name, out JsonElement value) =>
            values.TryGetValue(name, out value) && value.ValueKind != JsonValueKind.Null;

        public bool Has(string name) => TryGet(name, out _);
    }

    private sealed class DocumentReader
    {
        private static readonly string[] RootProperties = ["name", "timeZone", "tiers", "growth", "points", "benefits", "stacking"];
        private static readonly string[] TierProperties = ["code", "name", "growthThreshold", "paid"];
        private static readonly string[] PaidProperties = ["priceFen", "termDays"];
        private static readonly string[] GrowthProperties = ["perYuan", "windowMonths", "assessmentMonths", "maxDropTiers"];
        private static readonly string[] PointsProperties = ["perYuan", "partnerPerYuan", "checkInPoints", "expiry"];
        private static readonly string[] ExpiryProperties = ["kind", "months"];
        private static readonly string[] BenefitProperties = ["code", "kind", "name", "percentOff", "multiplier", "value", "tiers", "conditions"];
        private static readonly string[] ConditionProperties = ["channels", "stores", "birthdayMonth", "weekdays", "from", "to", "paidOnly"];
        private static readonly string[] StackingProperties = ["discount", "multiplier", "maxPercentOff", "maxMultiplier"];

        public List<ProgramProblem> Problems { get; } = [];

        private void Add(string path, string message) => Problems.Add(new(path, message));

        public LoyaltyProgram? ReadProgram(JsonElement root)
        {
            if (Object(root, "$", RootProperties) is not { } o)
            {
                return null;
            }

            var name = String(o, "name", required: true, MaxNameLength);
            var zone = ReadTimeZone(o);
            var tiers = ReadTiers(o);
            var growth = ReadGrowth(o);
            var points = ReadPoints(o);
            var benefits = ReadBenefits(o, tiers);
            var stacking = ReadStacking(o);

            if (Problems.Count > 0 || name is null || zone is null || tiers.Definitions is null || growth is null || points is null
                || benefits is null || stacking is null)
            {
                return null;
            }

            return new LoyaltyProgram
            {
                Name = name,
                TimeZone = zone,
                Tiers = tiers.Definitions,
                Growth = growth,
                Points = points,
                Benefits = benefits,
                Stacking = stacking,
            };
        }

        private TimeZoneInfo? ReadTimeZone(Properties o)
        {
            var id = String(o, "timeZone", required: false, MaxNameLength) ?? DefaultTimeZone;
            if (TimeZoneInfo.TryFindSystemTimeZoneById(id, out var zone))
            {
                return zone;
            }

            // Hosts without a tz database (slim images, Windows with invariant globalization) still run the default
            // program: China has kept UTC+8 with no daylight saving since 1991.
            if (id == DefaultTimeZone)
            {
                return TimeZoneInfo.CreateCustomTimeZone(DefaultTimeZone, TimeSpan.FromHours(8), DefaultTimeZone, "China Standard Time");
            }

            if (o.Has("timeZone"))
            {
                Add(o.PathOf("timeZone"), $"unknown time zone '{id}'; expected an IANA id such as Asia/Shanghai");
            }

            return null;
        }

        private sealed record TierLadder(List<TierDefinition>? Definitions, HashSet<string> Codes, HashSet<string> PaidCodes);

        private TierLadder ReadTiers(Properties o)
        {
            var ladder = new TierLadder(null, new(StringComparer.Ordinal), new(StringComparer.Ordinal));
            if (Array(o, "tiers", required: true) is not { } array)
            {
                return ladder;
            }

            var path = o.PathOf("tiers");
            var count = array.GetArrayLength();
            if (count == 0)
            {
                Add(path, "at least one tier is required");
                return ladder;
            }

            if (count > MaxTiers)
            {
                Add(path, $"at most {MaxTiers} tiers");
            }

            var definitions = new List<TierDefinition>(count);
            var firstAt = new Dictionary<string, int>(StringComparer.Ordinal);
            var growthTiers = 0;
            long? previousThreshold = null;
            var paidSeen = false;
            var complete = true;
            var index = 0;
            foreach (var element in array.EnumerateArray())
            {
                var at = $"{path}[{index}]";
                var rank = index++;
                if (Object(element, at, TierProperties) is not { } t)
                {
                    complete = false;
                    continue;
                }

                var code = Code(t, "code", firstAt, rank, "tiers");
                var name = String(t, "name", required: true, MaxNameLength);
                var isGrowth = t.Has("growthThreshold");
                var isPaid = t.Has("paid");
                if (isGrowth && isPaid)
                {
                    Add(at, "a tier has either growthThreshold (a growth tier) or paid (a paid tier), not both");
                }
                else if (!isGrowth && !isPaid)
                {
                    Add(at, "growthThreshold (a growth tier) or paid (a paid tier) is required");
                }

                long? threshold = null;
                PaidTerms? paid = null;
                if (isGrowth && !isPaid)
                {
                    growthTiers++;
                    if (paidSeen)
                    {
                        Add(at, "growth tiers come before every paid tier");
                    }

                    threshold = WholeNumber(t, "growthThreshold", required: true, 0, 1_000_000_000_000);
                    if (threshold is { } value)
                    {
                        if (previousThreshold is null && value != 0)
                        {
                            Add(t.PathOf("growthThreshold"), "the first growth tier's threshold must be 0: every member starts there");
                        }
                        else if (previousThreshold is { } previous && value <= previous)
                        {
                            Add(t.PathOf("growthThreshold"), $"must be greater than the previous growth tier's threshold ({previous})");
                        }

                        previousThreshold = value;
                    }
                    else
                    {
                        previousThreshold ??= 0;
                    }
                }
                else if (isPaid && !isGrowth)
                {
                    paidSeen = true;
                    if (code is not null)
                    {
                        ladder.PaidCodes.Add(code);
                    }

                    paid = ReadPaidTerms(t);
                }

                if (code is not null)
                {
                    ladder.Codes.Add(code);
                }

                if (code is null || name is null || (threshold is null && paid is null))
                {
                    complete = false;
                    continue;
                }

                definitions.Add(new TierDefinition(code, name, rank, threshold ?? 0, paid));
            }

            if (growthTiers == 0)
            {
                Add(path, "at least one growth tier (with growthThreshold) is required");
            }

            return complete ? ladder with { Definitions = definitions } : ladder;
        }

        private PaidTerms? ReadPaidTerms(Properties tier)
        {
            if (!tier.TryGet("paid", out var element) || Object(element, tier.PathOf("paid"), PaidProperties) is not { } p)
            {
                return null;
            }

            var price = WholeNumber(p, "priceFen", required: true, 1, 10_000_000_000);
            var term = WholeNumber(p, "termDays", required: true, 1, 3660);
            return price is { } fen && term is { } days ? new PaidTerms(fen, (int)days) : null;
        }

        private GrowthRules? ReadGrowth(Properties o)
        {
            const int DefaultMonths = 12;
            if (!o.TryGet("growth", out var element))
            {
                return new GrowthRules(1000, DefaultMonths, DefaultMonths, 1);
            }

            if (Object(element, o.PathOf("growth"), GrowthProperties) is not { } g)
            {
                return null;
            }

            var perYuan = Scaled(g, "perYuan", required: false, 1000, 0m, true, 1000m, true, "between 0 and 1000") ?? 1000;
            var window = WholeNumber(g, "windowMonths", required: false, 1, 36) ?? DefaultMonths;
            var assessment = WholeNumber(g, "assessmentMonths", required: false, 1, 36) ?? DefaultMonths;
            var maxDrop = WholeNumber(g, "maxDropTiers", required: false, 1, MaxTiers) ?? 1;
            return new GrowthRules(perYuan, (int)window, (int)assessment, (int)maxDrop);
        }

        private PointsRules? ReadPoints(Properties o)
        {
            var defaultExpiry = new PointsExpiry(PointsExpiryKind.EndOfYear, 12);
            if (!o.TryGet("points", out var element))
            {
                return new PointsRules(1000, 0, defaultExpiry, 0);
            }

            if (Object(element, o.PathOf("points"), PointsProperties) is not { } p)
            {
                return null;
            }

            var perYuan = Scaled(p, "perYuan", required: false, 1000, 0m, true, 1000m, true, "between 0 and 1000") ?? 1000;
            var partner = Scaled(p, "partnerPerYuan", required: false, 1000, 0m, true, 1000m, true, "between 0 and 1000") ?? 0;
            var checkIn = WholeNumber(p, "checkInPoints", required: false, 0, 1_000_000) ?? 0;
            var expiry = p.TryGet("expiry", out var expiryElement) ? ReadExpiry(expiryElement, p.PathOf("expiry")) : defaultExpiry;
            return expiry is null ? null : new PointsRules(perYuan, partner, expiry, (int)checkIn);
        }

        private PointsExpiry? ReadExpiry(JsonElement element, string path)
        {
            if (Object(element, path, ExpiryProperties) is not { } e)
            {
                return null;
            }

            var kind = Name(e, "kind", required: true, ProgramVocabulary.ExpiryKinds, "expiry kind");
            var months = WholeNumber(e, "months", required: false, 1, 120) ?? 12;
            if (kind == PointsExpiryKind.EndOfYear && months % 12 != 0)
            {
                Add(e.PathOf("months"), "for endOfYear, a multiple of 12 (12 = the end of the year after the points were earned)");
                return null;
            }

            return kind is { } k ? new PointsExpiry(k, (int)months) : null;
        }

        private List<BenefitDefinition>? ReadBenefits(Properties o, TierLadder tiers)
        {
            if (!o.TryGet("benefits", out _))
            {
                return [];
            }

            if (Array(o, "benefits", required: false) is not { } array)
            {
                return null;
            }

            var path = o.PathOf("benefits");
            if (array.GetArrayLength() > MaxBenefits)
            {
                Add(path, $"at most {MaxBenefits} benefits");
            }

            var benefits = new List<BenefitDefinition>(array.GetArrayLength());
            var firstAt = new Dictionary<string, int>(StringComparer.Ordinal);
            var index = 0;
            var complete = true;
            foreach (var element in array.EnumerateArray())
            {
                var benefit = ReadBenefit(element, $"{path}[{index}]", index, firstAt, tiers);
                index++;
                if (benefit is null)
                {
                    complete = false;
                }
                else
                {
                    benefits.Add(benefit);
                }
            }

            return complete ? benefits : null;
        }

        private BenefitDefinition? ReadBenefit(JsonElement element, string at, int index, Dictionary<string, int> firstAt, TierLadder tiers)
        {
            if (Object(element, at, BenefitProperties) is not { } b)
            {
                return null;
            }

            var problemsBefore = Problems.Count;
            var code = Code(b, "code", firstAt, index, "benefits");
            var kind = Name(b, "kind", required: true, ProgramVocabulary.BenefitKinds, "benefit kind");
            var name = String(b, "name", required: true, MaxNameLength);

            int discountBp = 0;
            if (kind == BenefitKind.Discount)
            {
                discountBp = Scaled(b, "percentOff", required: true, 100, 0m, false, 100m, false, "greater than 0 and less than 100") ?? 0;
            }
            else if (b.Has("percentOff"))
            {
                Add(b.PathOf("percentOff"), "only discount benefits have percentOff");
            }

            int multiplierMilli = 0;
            if (kind == BenefitKind.PointsMultiplier)
            {
                multiplierMilli = Scaled(b, "multiplier", required: true, 1000, 1m, false, 10m, true, "greater than 1 and at most 10") ?? 0;
            }
            else if (b.Has("multiplier"))
            {
                Add(b.PathOf("multiplier"), "only pointsMultiplier benefits have a multiplier");
            }

            string? value = null;
            if (kind is BenefitKind.BirthdayGift or BenefitKind.Service or BenefitKind.CouponGrant or BenefitKind.FreeShipping)
            {
                value = String(b, "value", required: kind != BenefitKind.FreeShipping, MaxValueLength);
            }
            else if (b.Has("value") && kind is not null)
            {
                Add(b.PathOf("value"), "only freeShipping, birthdayGift, service and couponGrant benefits have a value");
            }

            var tierCodes = ReadBenefitTiers(b, tiers);
            var conditions = b.TryGet("conditions", out var conditionsElement)
                ? ReadConditions(conditionsElement, b.PathOf("conditions"), tierCodes, tiers)
                : BenefitConditions.None;

            if (Problems.Count > problemsBefore || code is null || kind is not { } k || name is null || tierCodes is null || conditions is null)
            {
                return null;
            }

            return new BenefitDefinition(code, k, name, discountBp, multiplierMilli, value, tierCodes, conditions);
        }

        private FrozenSet<string>? ReadBenefitTiers(Properties b, TierLadder tiers)
        {
            if (!b.TryGet("tiers", out _))
            {
                return FrozenSet<string>.Empty;
            }

            if (Array(b, "tiers", required: false) is not { } array)
            {
                return null;
            }

            var codes = new HashSet<string>(StringComparer.Ordinal);
            var ok = true;
            var index = 0;
            foreach (var element in array.EnumerateArray())
            {
                var at = $"{b.PathOf("tiers")}[{index++}]";
                if (element.ValueKind != JsonValueKind.String)
                {
                    Add(at, "expected a tier code (a string)");
                    ok = false;
                }
                else if (element.GetString()! is var code && !tiers.Codes.Contains(code))
                {
                    Add(at, $"unknown tier '{code}'{Suggestion(code, tiers.Codes)}");
                    ok = false;
                }
                else if (!codes.Add(code))
                {
                    Add(at, $"tier '{code}' is listed twice");
                    ok = false;
                }
            }

            return ok ? codes.ToFrozenSet(StringComparer.Ordinal) : null;
        }

        private BenefitConditions? ReadConditions(JsonElement element, string path, FrozenSet<string>? tierCodes, TierLadder tiers)
        {
            if (Object(element, path, ConditionProperties) is not { } c)
            {
                return null;
            }

            var problemsBefore = Problems.Count;
            var channels = NameList(c, "channels", ProgramVocabulary.Channels, "channel", "every channel");
            var stores = StoreList(c);
            var birthday = Bool(c, "birthdayMonth") ?? false;
            var weekdays = NameList(c, "weekdays", ProgramVocabulary.Weekdays, "weekday", "every day");
            var from = Date(c, "from");
            var to = Date(c, "to");
            if (from is { } f && to is { } t && t < f)
            {
                Add(c.PathOf("to"), "must not be before from");
            }

            var paidOnly = Bool(c, "paidOnly") ?? false;
            if (paidOnly && tiers.PaidCodes.Count == 0 && tiers.Definitions is not null)
            {
                Add(c.PathOf("paidOnly"), "the program has no paid tier, so this benefit would never apply");
            }
            else if (paidOnly && tierCodes is { Count: > 0 } && !tierCodes.Overlaps(tiers.PaidCodes))
            {
                Add(c.PathOf("paidOnly"), "none of the benefit's tiers is a paid tier, so it would never apply");
            }

            return Problems.Count > problemsBefore
                ? null
                : new BenefitConditions(channels, stores, birthday, weekdays, from, to, paidOnly);
        }

        private StackingRules? ReadStacking(Properties o)
        {
            const int DefaultMaxDiscountBp = 5000;
            const int DefaultMaxMultiplierMilli = 10_000;
            if (!o.TryGet("stacking", out var element))
            {
                return new StackingRules(DiscountStacking.Best, MultiplierStacking.Best, DefaultMaxDiscountBp, DefaultMaxMultiplierMilli);
            }

            if (Object(element, o.PathOf("stacking"), StackingProperties) is not { } s)
            {
                return null;
            }

            var problemsBefore = Problems.Count;
            var discount = Name(s, "discount", required: false, ProgramVocabulary.DiscountStackings, "discount stacking") ?? DiscountStacking.Best;
            var multiplier = Name(s, "multiplier", required: false, ProgramVocabulary.MultiplierStackings, "multiplier stacking")
                ?? MultiplierStacking.Best;
            var maxDiscount = Scaled(s, "maxPercentOff", required: false, 100, 0m, false, 100m, false, "greater than 0 and less than 100")
                ?? DefaultMaxDiscountBp;
            var maxMultiplier = Scaled(s, "maxMultiplier", required: false, 1000, 1m, true, 10m, true, "between 1 and 10")
                ?? DefaultMaxMultiplierMilli;
            return Problems.Count > problemsBefore ? null : new StackingRules(discount, multiplier, maxDiscount, maxMultiplier);
        }

        // ---- typed readers: each reports its own problems and returns null when the value is unusable ----

        private Properties? Object(JsonElement element, string path, string[] allowed)
        {
            if (element.ValueKind != JsonValueKind.Object)
            {
                Add(path, $"expected an object, found {Describe(element)}");
                return null;
            }

            var values = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
            foreach (var property in element.EnumerateObject())
            {
                if (System.Array.IndexOf(allowed, property.Name) < 0)
                {
                    Add(path + Member(property.Name),
                        $"unknown property{Suggestion(property.Name, allowed)}; expected one of: {string.Join(", ", allowed)}");
                }
                else if (!values.TryAdd(property.Name, property.Value))
                {
                    Add(path + Member(property.Name), "duplicate property");
                }
            }

            return new Properties(path, values);
        }

        private JsonElement? Array(Properties o, string name, bool required)
        {
            if (!o.TryGet(name, out var element))
            {
                if (required)
                {
                    Add(o.PathOf(name), "required");
                }

                return null;
            }

            if (element.ValueKind != JsonValueKind.Array)
            {
                Add(o.PathOf(name), $"expected an array, found {Describe(element)}");
                return null;
            }

            return element;
        }

        private string? String(Properties o, string name, bool required, int maxLength)
        {
            if (!o.TryGet(name, out var element))
            {
                if (required)
                {
                    Add(o.PathOf(name), "required");
                }

                return null;
            }

            if (element.ValueKind != JsonValueKind.String)
            {
                Add(o.PathOf(name), $"expected a string, found {Describe(element)}");
                return null;
            }

            var value = element.GetString()!;
            if (string.IsNullOrWhiteSpace(value))
            {
                Add(o.PathOf(name), "must not be empty");
                return null;
            }

            if (value.Length > maxLength)
            {
                Add(o.PathOf(name), $"at most {maxLength} characters");
                return null;
            }

            return value;
        }

        private string? Code(Properties o, string name, Dictionary<string, int> firstAt, int index, string list)
        {
            var code = String(o, name, required: true, 32);
            if (code is null)
            {
                return null;
            }

            if (!CodePattern().IsMatch(code))
            {
                Add(o.PathOf(name), "must be 1 to 32 of a-z, 0-9, '_' and '-'");
                return null;
            }

            if (!firstAt.TryAdd(code, index))
            {
                Add(o.PathOf(name), $"duplicate code '{code}' (first at $.{list}[{firstAt[code]}])");
            }

            return code;
        }

        private long? WholeNumber(Properties o, string name, bool required, long min, long max)
        {
            if (!o.TryGet(name, out var element))
            {
                if (required)
                {
                    Add(o.PathOf(name), "required");
                }

                return null;
            }

            if (element.ValueKind != JsonValueKind.Number)
            {
                Add(o.PathOf(name), $"expected a whole number, found {Describe(element)}");
                return null;
            }

            if (!element.TryGetInt64(out var value))
            {
                Add(o.PathOf(name), element.TryGetDecimal(out var d) && d != decimal.Truncate(d)
                    ? "expected a whole number"
                    : $"must be between {min} and {max}");
                return null;
            }

            if (value < min || value > max)
            {
                Add(o.PathOf(name), $"must be between {min} and {max}");
                return null;
            }

            return value;
        }

        /// <summary>A decimal stored as an integer count of 1/<paramref name="factor"/>: percent → basis points, rates and multipliers → thousandths.</summary>
        private int? Scaled(Properties o, string name, bool required, int factor, decimal min, bool minInclusive, decimal max, bool maxInclusive,
            string range)
        {
            if (!o.TryGet(name, out var element))
            {
                if (required)
                {
                    Add(o.PathOf(name), "required");
                }

                return null;
            }

            if (element.ValueKind != JsonValueKind.Number)
            {
                Add(o.PathOf(name), $"expected a number, found {Describe(element)}");
                return null;
            }

            if (!element.TryGetDecimal(out var value)
                || (minInclusive ? value < min : value <= min)
                || (maxInclusive ? value > max : value >= max))
            {
                Add(o.PathOf(name), $"must be {range}");
                return null;
            }

            var scaled = value * factor;
            if (scaled != decimal.Truncate(scaled))
            {
                Add(o.PathOf(name), $"at most {(factor == 100 ? 2 : 3)} decimal places");
                return null;
            }

            return (int)scaled;
        }

        private bool? Bool(Properties o, string name)
        {
            if (!o.TryGet(name, out var element))
            {
                return null;
            }

            if (element.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                Add(o.PathOf(name), $"expected true or false, found {Describe(element)}");
                return null;
            }

            return element.GetBoolean();
        }

        private DateOnly? Date(Properties o, string name)
        {
            if (!o.TryGet(name, out var element))
            {
                return null;
            }

            if (element.ValueKind != JsonValueKind.String
                || !DateOnly.TryParseExact(element.GetString(), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            {
                Add(o.PathOf(name), $"expected a date as YYYY-MM-DD, found {(element.ValueKind == JsonValueKind.String ? $"'{element.GetString()}'" : Describe(element))}");
                return null;
            }

            return date;
        }

        private T? Name<T>(Properties o, string name, bool required, FrozenDictionary<string, T> names, string what) where T : struct
        {
            if (String(o, name, required, MaxNameLength) is not { } text)
            {
                return null;
            }

            if (names.TryGetValue(text, out var value))
            {
                return value;
            }

            Add(o.PathOf(name), $"unknown {what} '{text}'{Suggestion(text, names.Keys)}; expected one of: {ProgramVocabulary.OneOf(names)}");
            return null;
        }

        private FrozenSet<T>? NameList<T>(Properties o, string name, FrozenDictionary<string, T> names, string what, string everything)
            where T : struct
        {
            if (Array(o, name, required: false) is not { } array)
            {
                return null;
            }

            if (array.GetArrayLength() == 0)
            {
                Add(o.PathOf(name), $"must not be empty; leave it out to allow {everything}");
                return null;
            }

            var set = new HashSet<T>();
            var index = 0;
            foreach (var element in array.EnumerateArray())
            {
                var at = $"{o.PathOf(name)}[{index++}]";
                if (element.ValueKind != JsonValueKind.String)
                {
                    Add(at, $"expected a {what} name, found {Describe(element)}");
                }
                else if (!names.TryGetValue(element.GetString()!, out var value))
                {
                    var text = element.GetString()!;
                    Add(at, $"unknown {what} '{text}'{Suggestion(text, names.Keys)}; expected one of: {ProgramVocabulary.OneOf(names)}");
                }
                else if (!set.Add(value))
                {
                    Add(at, $"{what} '{element.GetString()}' is listed twice");
                }
            }

            return set.ToFrozenSet();
        }

        private FrozenSet<string>? StoreList(Properties o)
        {
            if (Array(o, "stores", required: false) is not { } array)
            {
                return null;
            }

            if (array.GetArrayLength() == 0)
            {
                Add(o.PathOf("stores"), "must not be empty; leave it out to allow every store");
                return null;
            }

            var set = new HashSet<string>(StringComparer.Ordinal);
            var index = 0;
            foreach (var element in array.EnumerateArray())
            {
                var at = $"{o.PathOf("stores")}[{index++}]";
                if (element.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(element.GetString()))
                {
                    Add(at, "expected a store id (a non-empty string)");
                }
                else if (element.GetString()!.Length > MaxStoreIdLength)
                {
                    Add(at, $"at most {MaxStoreIdLength} characters");
                }
                else if (!set.Add(element.GetString()!))
                {
                    Add(at, $"store '{element.GetString()}' is listed twice");
                }
            }

            return set.ToFrozenSet(StringComparer.Ordinal);
        }

        private static string Describe(JsonElement element) => element.ValueKind switch
        {
            JsonValueKind.Object => "an object",
            JsonValueKind.Array => "an array",
            JsonValueKind.String => "a string",
            JsonValueKind.Number => "a number",
            JsonValueKind.True or JsonValueKind.False => "a boolean",
            _ => "null",
        };

        /// <summary>" (did you mean 'x'?)" for a near miss: a typo should say what was meant.</summary>
        private static string Suggestion(string given, IEnumerable<string> candidates)
        {
            string? best = null;
            var bestDistance = int.MaxValue;
            foreach (var candidate in candidates)
            {
                var distance = string.Equals(given, candidate, StringComparison.OrdinalIgnoreCase) ? 0 : Distance(given, candidate);
                if (distance < bestDistance)
                {
                    (best, bestDistance) = (candidate, distance);
                }
            }

            return best is not null && bestDistance <= Math.Max(1, Math.Min(3, given.Length / 3)) ? $" (did you mean '{best}'?)" : "";
        }

        private static int Distance(string a, string b)
        {
            var previous = new int[b.Length + 1];
            var current = new int[b.Length + 1];
            for (var j = 0; j <= b.Length; j++)
            {
                previous[j] = j;
            }

            for (var i = 1; i <= a.Length; i++)
            {
                current[0] = i;
                for (var j = 1; j <= b.Length; j++)
                {
                    var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                    current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
                }

                (previous, current) = (current, previous);
            }

            return previous[b.Length];
        }
    }
}
