using System.CommandLine;
using Google.Protobuf;
using Grpc.Core;
using Identity.Cli.Output;
using Identity.V1;

namespace Identity.Cli.Commands;

/// <summary>Runs the call(s) of a command: connect, call with deadline and Ctrl+C, print, map errors to exit codes.</summary>
internal sealed class RpcAction(GlobalOptions globals)
{
    /// <summary>One unary MemberService call.</summary>
    public void Set<TResponse>(
        Command command,
        Func<ParseResult, MemberService.MemberServiceClient, CallOptions, AsyncUnaryCall<TResponse>> call,
        Action<Printer, TResponse> print)
        where TResponse : IMessage =>
        Run(command, async (parse, connection, cancellationToken) =>
            await call(parse, connection.Client, connection.CallOptions(cancellationToken)), (_, printer, response) => print(printer, response));

    /// <summary>One unary LoyaltyService call; <paramref name="exitCode"/> may turn a successful answer into a failure exit.</summary>
    public void SetLoyalty<TResponse>(
        Command command,
        Func<ParseResult, LoyaltyService.LoyaltyServiceClient, CallOptions, AsyncUnaryCall<TResponse>> call,
        Action<Printer, TResponse> print,
        Func<TResponse, int>? exitCode = null)
        where TResponse : IMessage =>
        Run(command, async (parse, connection, cancellationToken) =>
            await call(parse, connection.Loyalty, connection.CallOptions(cancellationToken)), (_, printer, response) => print(printer, response), exitCode);

    /// <summary>One unary AdminService call.</summary>
    public void SetAdmin<TResponse>(
        Command command,
        Func<ParseResult, AdminService.AdminServiceClient, CallOptions, AsyncUnaryCall<TResponse>> call,
        Action<Printer, TResponse> print)
        where TResponse : IMessage =>
        Run(command, async (parse, connection, cancellationToken) =>
            await call(parse, connection.Admin, connection.CallOptions(cancellationToken)), (_, printer, response) => print(printer, response));

    /// <summary>One unary PartnerService call.</summary>
    public void SetPartner<TResponse>(
        Command command,
        Func<ParseResult, PartnerService.PartnerServiceClient, CallOptions, AsyncUnaryCall<TResponse>> call,
        Action<Printer, TResponse> print)
        where TResponse : IMessage =>
        Run(command, async (parse, connection, cancellationToken) =>
            await call(parse, connection.Partner, connection.CallOptions(cancellationToken)), (_, printer, response) => print(printer, response));

    /// <summary>
    /// Any number of calls (e.g. following page tokens), each with its own deadline from <see cref="Connection.CallOptions"/>;
    /// the printer also sees the command line.
    /// </summary>
    public void Run<TResponse>(
        Command command,
        Func<ParseResult, Connection, CancellationToken, Task<TResponse>> call,
        Action<ParseResult, Printer, TResponse> print,
        Func<TResponse, int>? exitCode = null)
        where TResponse : IMessage
    {
        command.SetAction(async (parseResult, cancellationToken) =>
        {
            var output = parseResult.InvocationConfiguration.Output;
            var error = parseResult.InvocationConfiguration.Error;
            ConnectionSettings settings;
            try
            {
                settings = globals.Read(parseResult);
            }
            catch (UsageException ex)
            {
                error.WriteLine($"error: {ex.Message}");
                return ExitCodes.Usage;
            }
            using var connection = new Connection(settings);
            try
            {
                var response = await call(parseResult, connection, cancellationToken);
                if (settings.Json)
                {
                    JsonOutput.Write(output, response);
                }
                else
                {
                    print(parseResult, new Printer(output), response);
                }
                return exitCode?.Invoke(response) ?? ExitCodes.Ok;
            }
            catch (UsageException ex)
            {
                error.WriteLine($"error: {ex.Message}");
                return ExitCodes.Usage;
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

/// <summary>A command-line mistake found only when the command runs (e.g. an unreadable input file): exit code 2, no call.</summary>
internal sealed class UsageException(string message) : Exception(message);
