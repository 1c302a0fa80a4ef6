using System.CommandLine;
using System.CommandLine.Invocation;
using Identity.LoadTest;

var root = new RootCommand("Load generator for the Identity service: seeds members and drives closed-loop gRPC load.");
root.Subcommands.Add(Commands.Seed());
root.Subcommands.Add(Commands.Run());
root.Subcommands.Add(Commands.Wait());
root.Subcommands.Add(LegacyCommands.Generate());
root.Subcommands.Add(LegacyCommands.Import());
root.Subcommands.Add(LegacyCommands.Baseline());

var parseResult = root.Parse(args);
var exitCode = await parseResult.InvokeAsync();
return parseResult.Action is ParseErrorAction ? ExitCodes.Usage : exitCode;
