using System.Collections.Concurrent;
using System.Threading.RateLimiting;
using Identity.V1;

namespace Identity.Service.Security;

/// <summary>Token buckets partitioned by client: one client's flood spends only its own tokens.</summary>
public sealed class CallerRateLimiter(TimeProvider clock)
{
    /// <summary>Requests per second when the registry gives a client none.</summary>
    public static int RoleDefault(ClientRole role) => role switch
    {
        ClientRole.Pos => 100,
        ClientRole.Miniprogram => 500,
        ClientRole.Partner => 20,
        _ => 1000,
    };

    // Keyed by rate too: a client whose rate changes gets a bucket for the new rate. Clients are few (the registry's).
    readonly ConcurrentDictionary<(string Id, int PerSecond), TokenBucket> buckets = new();

    public RateLimitLease Acquire(Caller caller)
    {
        var perSecond = caller.RequestsPerSecond > 0 ? caller.RequestsPerSecond : RoleDefault(caller.Role);
        var bucket = buckets.GetOrAdd((caller.Id, perSecond), static (key, clock) => new TokenBucket(key.PerSecond, clock), clock);
        return bucket.TryTake(out var retryAfter) ? TokenBucketLease.Acquired : new TokenBucketLease(retryAfter);
    }
}
