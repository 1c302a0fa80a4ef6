using System.Globalization;
using Google.Rpc;
using Grpc.Core;

namespace Identity.Cli.Output;

/// <summary>Writes an RPC error and its google.rpc details (AIP-193) to stderr.</summary>
internal static class ErrorPrinter
{
    public static void Write(TextWriter error, RpcException exception, ConnectionSettings settings)
    {
        var message = exception.Status.Detail switch
        {
            { Length: > 0 } detail => detail,
            _ when exception.StatusCode == StatusCode.DeadlineExceeded => $"no answer within {settings.Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s (--timeout)",
            _ => "(no message)",
        };
        error.WriteLine($"error: {exception.StatusCode}: {Printer.OneLine(message)}");
        var status = exception.GetRpcStatus();
        if (status is not null)
        {
            foreach (var detail in status.UnpackDetailMessages())
            {
                switch (detail)
                {
                    case BadRequest badRequest:
                        // One line per violation, so that each problem of a rejected program stands on its own line.
                        foreach (var violation in badRequest.FieldViolations)
                        {
                            error.WriteLine($"  field {violation.Field}: {Printer.OneLine(violation.Description)}");
                        }
                        break;
                    case ErrorInfo info:
                        var metadata = string.Concat(info.Metadata.OrderBy(m => m.Key, StringComparer.Ordinal).Select(m => $"  {m.Key}={m.Value}"));
                        error.WriteLine($"  reason {info.Reason}{metadata}");
                        break;
                }
            }
        }
        if (exception.StatusCode == StatusCode.Unauthenticated)
        {
            error.WriteLine(settings.Key.Value is null
                ? "  no key: pass --key, set IDENTITY_KEY, or run from the repository whose server created data/admin.key"
                : $"  the key from {settings.Key.Source} was not accepted (revoked, mistyped, or from another server's data?)");
        }
        else if (exception.StatusCode == StatusCode.PermissionDenied && settings.Key.Value is not null)
        {
            error.WriteLine($"  the client of the key from {settings.Key.Source} may not make this call (its role or stores do not allow it)");
        }
        if (exception.StatusCode == StatusCode.Unavailable)
        {
            error.WriteLine($"  cannot reach {settings.Server}");
            error.WriteLine("  is the server running? start it with: dotnet run --project src/Identity.Service");
        }
    }
}
