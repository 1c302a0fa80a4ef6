using Identity.Service.Hosting;

namespace Identity.Service.Errors;

/// <summary>Store faults logged as a warning at most once a second per kind, without stack traces.</summary>
public sealed class StoreFaultLog(ILogger<StoreFaultLog> logger, TimeProvider clock)
{
    readonly LogThrottle throttle = new(clock);

    public void Faulted(StoreFault fault, string method)
    {
        var kind = fault == StoreFault.Busy ? "busy" : "full";
        if (throttle.TryEnter(kind, out var suppressed))
            Log.StoreFault(logger, method, kind, suppressed);
    }
}
