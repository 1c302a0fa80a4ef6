using System.CommandLine;
using System.CommandLine.Invocation;
using Identity.Cli;
using Identity.Cli.Commands;

var globals = new GlobalOptions();
var root = new RootCommand("Command-line client of the Identity member service.");
globals.AddTo(root);
foreach (var command in MemberCommands.Create(globals)
    .Concat(LoyaltyCommands.Create(globals))
    .Concat(OrderCommands.Create(globals))
    .Concat(AdminCommands.Create(globals))
    .Concat(PartnerCommands.Create(globals))
    .Append(ImportCommand.Create(globals)))
{
    root.Subcommands.Add(command);
}
root.Subcommands.Add(HealthCommand.Create());

var parseResult = root.Parse(args);
// An interrupted import answers the batches already sent and saves its checkpoint before it exits: give it time.
var exitCode = await parseResult.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(30) });

// System.CommandLine reports parse errors with exit code 1, which this tool reserves for RPC errors.
return parseResult.Action is ParseErrorAction ? ExitCodes.Usage : exitCode;
