using System.Threading.RateLimiting;

namespace Identity.Service.Security;

/// <summary>The outcome of taking a token, with the wait before the next one (RetryAfter) when refused.</summary>
public sealed class TokenBucketLease : RateLimitLease
{
    public static readonly TokenBucketLease Acquired = new(null);

    readonly TimeSpan? retryAfter;

    public TokenBucketLease(TimeSpan? retryAfter) => this.retryAfter = retryAfter;

    public override bool IsAcquired => retryAfter is null;

    public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

    public override bool TryGetMetadata(string metadataName, out object? metadata)
    {
        metadata = metadataName == MetadataName.RetryAfter.Name ? retryAfter : null;
        return metadata is not null;
    }
}
