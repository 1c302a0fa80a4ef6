using System.CommandLine;
using System.CommandLine.Invocation;
using Identity.Cli;
using Identity.Cli.Commands;

var globals = new GlobalOptions();
var root = new RootCommand("Command-line client of the Identity member service.");
globals.AddTo(root);
foreach (var command in MemberCommands.Create(globals)
    .Concat(LoyaltyCommands.Create(globals))
    .Concat(AdminCommands.Create(globals))
    .Concat(PartnerCommands.Create(globals)))
{
    root.Subcommands.Add(command);
}
root.Subcommands.Add(HealthCommand.Create());

var parseResult = root.Parse(args);
var exitCode = await parseResult.InvokeAsync();

// System.CommandLine reports parse errors with exit code 1, which this tool reserves for RPC errors.
return parseResult.Action is ParseErrorAction ? ExitCodes.Usage : exitCode;
