using Identity.Service.Errors;

namespace Identity.Service.Loyalty;

/// <summary>
/// A dated write (an order, a refund, a paid membership, a partner order) is refused <c>LATE_ORDER</c> when its date is
/// older than the late-order window. That refusal is for writes not yet made: a repeat of one that was recorded while
/// its date was inside the window (a till retrying the next day, a replayed queue sent again) replays its kept reply,
/// as every other repeat does. Only a request whose one fault is its age is looked up; a request that was never
/// recorded is refused as before, and anything else wrong with a request is refused as it always was.
/// </summary>
public static class LateRepeats
{
    /// <summary>
    /// Reads the request with the late-order <paramref name="window"/>. When its one fault is a date older than the
    /// window, reads it again without one and returns that refusal beside it: the caller then only replays (or refuses).
    /// </summary>
    public static (T Value, IdentityException? Late) Read<T>(Func<TimeSpan, T> read, DateTimeOffset now, TimeSpan window)
    {
        try
        {
            return (read(window), null);
        }
        catch (IdentityException refusal) when (OnlyLate(refusal))
        {
            return (read(Unbounded(now)), refusal);
        }
    }

    /// <summary>True when the refusal's one violation is a date older than the late-order window.</summary>
    public static bool OnlyLate(IdentityException refusal) => refusal.Violations is [{ Reason: ErrorReasons.LateOrder }];

    /// <summary>A window that no valid timestamp falls out of.</summary>
    public static TimeSpan Unbounded(DateTimeOffset now) => now - DateTimeOffset.MinValue;
}
