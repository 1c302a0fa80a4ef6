using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Text.RegularExpressions;
using Timestamp = Google.Protobuf.WellKnownTypes.Timestamp;
using Identity.V1;

namespace Identity.Cli.Commands;

/// <summary>Factories for the options several commands share; each command gets its own instances.</summary>
internal static partial class CliOptions
{
    public static Option<string> Text(string name, string description, string helpName, bool required = false) => new(name)
    {
        Description = description,
        HelpName = helpName,
        Required = required,
    };

    public static Option<Channel> Channel(string name, string description, bool required = false, bool listNames = true) =>
        Enum(name, description, "channel", ProtoNames.Channel, required, listNames);

    public static Option<ConsentPurpose> ConsentPurpose(string name, string description, bool required = false) =>
        Enum(name, description, "purpose", ProtoNames.ConsentPurpose, required, listNames: true);

    public static Option<ErasureReason> ErasureReason(string name, string description, bool required = false) =>
        Enum(name, description, "reason", ProtoNames.ErasureReason, required, listNames: true);

    public static Option<ClientRole> ClientRole(string name, string description, bool required = false) =>
        Enum(name, description, "role", ProtoNames.ClientRole, required, listNames: true);

    public static Option<Gender> Gender() =>
        Enum("--gender", "Declared gender", "gender", ProtoNames.Gender, required: false, listNames: true);

    /// <summary>An amount in yuan with at most 2 decimals (<c>299.00</c>), read exactly as fen (29900); more than 0.</summary>
    public static Option<long> Yuan(string name, string description, bool required = false) => new(name)
    {
        Description = $"{description}, in yuan with at most 2 decimals (e.g. 299.00)",
        HelpName = "yuan",
        Required = required,
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
            if (TryParseFen(text, out var fen, out var problem))
            {
                return fen;
            }
            result.AddError($"{name}: {problem}");
            return 0;
        },
    };

    /// <summary>
    /// An ISO-8601 instant with its offset (<c>2026-11-23T10:00:00+08:00</c>, <c>2026-11-23T02:00:00Z</c>); omitted
    /// means <paramref name="whenOmitted"/> (now, unless the command says otherwise).
    /// </summary>
    public static Option<DateTimeOffset> Instant(string name, string description, string whenOmitted = "now") => new(name)
    {
        Description = $"{description}, ISO-8601 with offset (e.g. 2026-11-23T10:00:00+08:00); default: {whenOmitted}",
        HelpName = "time",
        CustomParser = result =>
        {
            var text = result.Tokens.Count == 1 ? result.Tokens[0].Value.Trim() : "";
            // The offset is required: a till's local time and the server's are not the same thing.
            if (InstantPattern().IsMatch(text)
                && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var instant))
            {
                return instant;
            }
            result.AddError($"{name}: '{text}' is not an ISO-8601 time with an offset, such as 2026-11-23T10:00:00+08:00 or 2026-11-23T02:00:00Z");
            return default;
        },
    };

    /// <summary>The instant of an <see cref="Instant"/> option as a Timestamp, or null when it is not on the command line.</summary>
    public static Timestamp? TimestampOf(this ParseResult parse, Option<DateTimeOffset> option) =>
        parse.IsGiven(option) ? Timestamp.FromDateTimeOffset(parse.GetValue(option)) : null;

    public static bool IsGiven(this SymbolResult result, Option option) => result.GetResult(option) is not null;

    public static bool IsGiven(this ParseResult result, Option option) => result.GetResult(option) is not null;

    private static Option<T> Enum<T>(string name, string description, string helpName, EnumNames<T> names, bool required, bool listNames)
        where T : struct, System.Enum
    {
        var option = new Option<T>(name)
        {
            Description = listNames ? $"{description}: {string.Join(", ", names.Names)}" : description,
            HelpName = helpName,
            Required = required,
            CustomParser = result =>
            {
                var text = result.Tokens.Count == 1 ? result.Tokens[0].Value : "";
                if (names.TryParse(text, out var value))
                {
                    return value;
                }
                result.AddError($"{name}: unknown {helpName} '{text}'; expected one of {string.Join(", ", names.Names)}");
                return default;
            },
        };
        option.CompletionSources.Add([.. names.Names]);
        return option;
    }

    private static bool TryParseFen(string text, out long fen, out string problem)
    {
        fen = 0;
        var match = AmountPattern().Match(text.Trim());
        if (!match.Success)
        {
            problem = $"'{text}' is not an amount in yuan, such as 299 or 299.00";
            return false;
        }
        var decimals = match.Groups["fraction"].Value;
        if (decimals.Length > 2)
        {
            problem = $"'{text}' has more than 2 decimals; amounts are exact to the fen (0.01)";
            return false;
        }
        if (!long.TryParse(match.Groups["yuan"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var yuan)
            || yuan > (long.MaxValue - 99) / 100)
        {
            problem = $"'{text}' is too large";
            return false;
        }
        fen = yuan * 100 + (decimals.Length == 0 ? 0 : int.Parse(decimals.PadRight(2, '0'), NumberStyles.None, CultureInfo.InvariantCulture));
        if (fen == 0)
        {
            problem = "must be more than 0";
            return false;
        }
        problem = "";
        return true;
    }

    [GeneratedRegex(@"^(?<yuan>[0-9]+)(\.(?<fraction>[0-9]+))?$", RegexOptions.CultureInvariant)]
    private static partial Regex AmountPattern();

    [GeneratedRegex(@"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,7})?)?([Zz]|[+-][0-9]{2}:[0-9]{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex InstantPattern();
}
