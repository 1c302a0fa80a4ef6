namespace Identity.IntegrationTests.Infrastructure;

/// <summary>A clock the test moves by hand, for rules that depend on the date (expiry, assessment, check-in days).</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    long ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref ticks), TimeSpan.Zero);

    public void Set(DateTimeOffset now) => Interlocked.Exchange(ref ticks, now.UtcTicks);

    public void Advance(TimeSpan by) => Interlocked.Add(ref ticks, by.Ticks);
}
