using Identity.Service.Storage;

namespace Identity.Service.Caching;

/// <summary>
/// Runs a write transaction and then drops what it changed from the caches before the call returns, so the caller
/// reads its own write. What changed is worked out by <see cref="CacheChangeInterceptor"/> and is also in the outbox,
/// so an invalidation that cannot reach Redis now is applied later, never lost.
/// </summary>
public sealed class CachedWrites(IdentityStore store, MemberCache cache)
{
    public Task<T> WriteAsync<T>(Func<IdentityDbContext, CacheChange, CancellationToken, Task<T>> write, CancellationToken cancellationToken) =>
        WriteAsync(write, null, cancellationToken);

    /// <summary>A write about <paramref name="member"/> (see <see cref="IdentityStore"/>), when the caller knows it up front.</summary>
    public async Task<T> WriteAsync<T>(Func<IdentityDbContext, CacheChange, CancellationToken, Task<T>> write, string? member, CancellationToken cancellationToken)
    {
        var change = new CacheChange { StartedAt = cache.Sequence };
        var outer = CacheChange.Current;
        CacheChange.Current = change;
        T result;
        try
        {
            result = await store.WriteAsync((db, ct) => write(db, change, ct), member, cancellationToken);
        }
        finally
        {
            CacheChange.Current = outer;
        }
        await cache.InvalidateAsync(change);
        return result;
    }
}
