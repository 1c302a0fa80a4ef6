namespace Identity.Service.Errors;

/// <summary>
/// Lets one log line per kind through each second and counts the rest, so a flood of the same caller-caused or transient
/// failure cannot flood the log.
/// </summary>
public sealed class LogThrottle(TimeProvider clock)
{
    static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    readonly Lock gate = new();
    readonly Dictionary<string, (long LastTimestamp, int Suppressed)> kinds = new(StringComparer.Ordinal);

    /// <summary>True when a line of this kind may be written now; <paramref name="suppressed"/> counts those held back since the last.</summary>
    public bool TryEnter(string kind, out int suppressed)
    {
        var now = clock.GetTimestamp();
        lock (gate)
        {
            if (kinds.TryGetValue(kind, out var last) && clock.GetElapsedTime(last.LastTimestamp, now) < Interval)
            {
                kinds[kind] = (last.LastTimestamp, last.Suppressed + 1);
                suppressed = 0;
                return false;
            }
            suppressed = last.Suppressed;
            kinds[kind] = (now, 0);
            return true;
        }
    }
}
