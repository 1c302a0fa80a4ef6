using Identity.Service.Hosting;

namespace Identity.Service.Errors;

/// <summary>
/// Logs refused malformed requests at Information, at most once a second per kind and without stack traces: garbage
/// from a caller is the caller's fault, and a flood of it must not flood the log.
/// </summary>
public sealed class MalformedRequestLog(ILogger<MalformedRequestLog> logger, TimeProvider clock)
{
    readonly LogThrottle throttle = new(clock);

    public void Refused(string kind, string method, string reason)
    {
        if (logger.IsEnabled(LogLevel.Information) && throttle.TryEnter(kind, out var suppressed))
            Log.MalformedRequest(logger, kind, method, reason, suppressed);
    }
}
