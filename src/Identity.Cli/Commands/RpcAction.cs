using System.CommandLine;
using Google.Protobuf;
using Grpc.Core;
using Identity.Cli.Output;
using Identity.V1;

namespace Identity.Cli.Commands;

/// <summary>Runs one unary call for a command: connect, call with deadline and Ctrl+C, print, map errors to exit codes.</summary>
internal sealed class RpcAction(GlobalOptions globals)
{
    public void Set<TResponse>(
        Command command,
        Func<ParseResult, MemberService.MemberServiceClient, CallOptions, AsyncUnaryCall<TResponse>> call,
        Action<Printer, TResponse> print)
        where TResponse : IMessage
    {
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            var settings = globals.Read(parseResult);
            using var connection = new Connection(settings);
            try
            {
                var response = await call(parseResult, connection.Client, connection.CallOptions(cancellationToken));
                if (settings.Json)
                {
                    JsonOutput.Write(output, response);
                }
                else
                {
                    print(new Printer(output), response);
                }
                return ExitCodes.Ok;
            }
            catch (RpcException) when (cancellationToken.IsCancellationRequested)
            {
                error.WriteLine("cancelled");
                return ExitCodes.Cancelled;
            }
            catch (RpcException ex)
            {
                ErrorPrinter.Write(error, ex, settings);
                return ex.StatusCode == StatusCode.Unavailable ? ExitCodes.Unreachable : ExitCodes.RpcError;
            }
        });
    }
}
