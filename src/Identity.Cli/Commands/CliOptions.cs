using System.CommandLine;
using System.CommandLine.Parsing;
using Identity.V1;

namespace Identity.Cli.Commands;

/// <summary>Factories for the options several commands share; each command gets its own instances.</summary>
internal static class CliOptions
{
    public static Option<string> Text(string name, string description, string helpName, bool required = false) => new(name)
    {
        Description = description,
        HelpName = helpName,
        Required = required,
    };

    public static Option<Channel> Channel(string name, string description, bool required = false, bool listNames = true) =>
        Enum(name, description, "channel", ProtoNames.Channel, required, listNames);

    public static Option<Gender> Gender() =>
        Enum("--gender", "Declared gender", "gender", ProtoNames.Gender, required: false, listNames: true);

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
}
