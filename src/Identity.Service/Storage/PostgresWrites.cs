using System.Data;
using Identity.Service.Caching;
using Identity.Service.Errors;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Identity.Service.Storage;

/// <summary>
/// Write transactions on PostgreSQL, where any number of instances write at once and no process-local gate can order
/// them. Each write runs in one READ COMMITTED transaction, and the database orders writes three ways:
/// <list type="bullet">
/// <item>Loading a member row or a loyalty account row locks it (<see cref="PostgresRowLocks"/>): writes about one member
/// queue on its row, and each reads what the one before it committed, so a balance a write read cannot change before
/// it commits (no overdraft), and a hot member's writes are served in turn rather than failing one another.</item>
/// <item>Every change to a member or its ledger bumps the member's or the account's version, a concurrency token
/// (<see cref="CacheChangeInterceptor"/>): a write that read either row without locking it fails at its update if
/// another write changed the row meanwhile.</item>
/// <item>Identity keys (phones, channel identities, orders, idempotency keys, check-in days, program versions, merges)
/// are unique constraints: of two writes creating the same one, the second fails with a unique violation.</item>
/// </list>
/// <para>
/// A write that failed that way (or in a deadlock) is run again from the start, with a fresh context, after a short
/// jittered pause. It then finds the winner's row and replays it or answers from it, exactly as if it had come second.
/// Write delegates have no effect outside their transaction (cache invalidations are applied after the commit, from
/// what the last attempt saved). After <see cref="StoreOptions.WriteAttempts"/> lost races the write fails as a busy
/// store (UNAVAILABLE with RetryInfo); nothing of it was written.
/// </para>
/// </summary>
sealed class PostgresWrites(IDbContextFactory<IdentityDbContext> contexts, int attempts)
{
    long retries;

    /// <summary>How many attempts were run again after losing a race (for benchmarks and tests).</summary>
    public long Retries => Interlocked.Read(ref retries);

    public async Task<T> WriteAsync<T>(Func<IdentityDbContext, CancellationToken, Task<T>> write, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            // What an earlier attempt saved was rolled back: only this attempt's changes reach the caches.
            CacheChange.Current?.Discard();
            try
            {
                await using var db = await contexts.CreateDbContextAsync(cancellationToken);
                // A failed statement fails the whole attempt, which is run again: savepoints around each save would only
                // cost two round trips.
                db.Database.AutoSavepointsEnabled = false;
                await using var transaction = await db.Database.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);
                var result = await write(db, cancellationToken);
                await db.SaveChangesAsync(cancellationToken);
                await transaction.CommitAsync(cancellationToken);
                return result;
            }
            catch (Exception exception) when (LostRace(exception))
            {
                if (attempt >= Math.Max(1, attempts))
                    throw new StoreContendedException(attempt, exception);
                Interlocked.Increment(ref retries);
                await Task.Delay(Backoff(attempt), cancellationToken);
            }
        }
    }

    /// <summary>Full jitter over a window that doubles from 2 ms up to 100 ms, so that racing writers spread out.</summary>
    static TimeSpan Backoff(int attempt) =>
        TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * Math.Min(100, 2 << Math.Min(attempt, 10)));

    /// <summary>The transaction lost to a concurrent one; run from the start, it sees the other's result.</summary>
    static bool LostRace(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case DbUpdateConcurrencyException:
                    return true;
                case PostgresException { SqlState: PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.UniqueViolation }:
                    return true;
            }
        }
        return false;
    }
}
