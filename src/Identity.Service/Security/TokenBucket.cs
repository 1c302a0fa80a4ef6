namespace Identity.Service.Security;

/// <summary>
/// A token bucket refilled by whole periods, computed when a token is asked for (no timer, so a busy machine cannot
/// delay or drop a refill). The period is the shortest of 100, 200, 250, 500 and 1000 ms that refills a whole number of
/// tokens, so the long-run rate is exact (a fixed 100 ms period with at least one token let 5/s through as 10/s). The
/// burst is the larger of one refill and half a second's worth, never more than one second's worth: a flood from a
/// fresh bucket gets at most burst + 10 × rate calls in ten seconds, within 10 % of the rate (within 5 % whenever one
/// refill is at most half a second's worth), while a client may still send a handful of calls back to back.
/// </summary>
public sealed class TokenBucket
{
    static readonly int[] PeriodsMs = [100, 200, 250, 500, 1000];

    readonly TimeProvider clock;
    readonly long periodTicks;
    readonly Lock gate = new();
    long tokens;
    long lastRefill;

    public TokenBucket(int perSecond, TimeProvider clock)
    {
        perSecond = Math.Max(1, perSecond);
        PeriodMs = PeriodsMs.First(ms => (long)perSecond * ms % 1000 == 0);
        TokensPerPeriod = (int)((long)perSecond * PeriodMs / 1000);
        Burst = Math.Max(TokensPerPeriod, perSecond / 2);
        this.clock = clock;
        periodTicks = clock.TimestampFrequency * PeriodMs / 1000;
        tokens = Burst;
        lastRefill = clock.GetTimestamp();
    }

    public int PeriodMs { get; }

    public int TokensPerPeriod { get; }

    public int Burst { get; }

    /// <summary>Takes a token if there is one; otherwise says how long until the next refill.</summary>
    public bool TryTake(out TimeSpan retryAfter)
    {
        var now = clock.GetTimestamp();
        lock (gate)
        {
            var periods = (now - lastRefill) / periodTicks;
            if (periods > 0)
            {
                // Whole periods only, and the refill time moves by whole periods: time spent full is not banked.
                tokens = Math.Min(Burst, tokens + Math.Min(periods, Burst) * TokensPerPeriod);
                lastRefill += periods * periodTicks;
            }
            if (tokens > 0)
            {
                tokens--;
                retryAfter = TimeSpan.Zero;
                return true;
            }
            retryAfter = TimeSpan.FromSeconds((double)(lastRefill + periodTicks - now) / clock.TimestampFrequency);
            return false;
        }
    }
}
