using System.Threading.RateLimiting;
using Identity.V1;

namespace Identity.Service.Security;

/// <summary>Token buckets partitioned by client: one client's flood spends only its own tokens.</summary>
public sealed class CallerRateLimiter : IDisposable
{
    /// <summary>Requests per second when the registry gives a client none.</summary>
    public static int RoleDefault(ClientRole role) => role switch
    {
        ClientRole.Pos => 100,
        ClientRole.Miniprogram => 500,
        ClientRole.Partner => 20,
        _ => 1000,
    };

    readonly PartitionedRateLimiter<Caller> limiter = PartitionedRateLimiter.Create<Caller, string>(caller =>
    {
        var perSecond = caller.RequestsPerSecond > 0 ? caller.RequestsPerSecond : RoleDefault(caller.Role);
        return RateLimitPartition.GetTokenBucketLimiter(caller.Id, _ => new TokenBucketRateLimiterOptions
        {
            TokenLimit = perSecond, // one second of burst
            TokensPerPeriod = Math.Max(1, perSecond / 10),
            ReplenishmentPeriod = TimeSpan.FromMilliseconds(100),
            QueueLimit = 0,
            AutoReplenishment = true,
        });
    });

    public RateLimitLease Acquire(Caller caller) => limiter.AttemptAcquire(caller);

    public void Dispose() => limiter.Dispose();
}
