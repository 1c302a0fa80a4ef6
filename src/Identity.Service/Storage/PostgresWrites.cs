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
/// <para>
/// Writes about one member that arrive while another of this instance's writes about that member is running can share
/// a transaction (<see cref="WriteAsync{T}(Func{IdentityDbContext, CancellationToken, Task{T}}, string?, CancellationToken)"/>):
/// they would only have queued on the member's row lock, one commit after another. See <see cref="MemberLane"/>.
/// </para>
/// </summary>
sealed class PostgresWrites(IDbContextFactory<IdentityDbContext> contexts, int attempts, bool groupMemberWrites)
{
    /// <summary>The most writes one shared transaction holds, so that none waits long behind the others.</summary>
    public const int MaxGroup = 32;

    long retries;
    long grouped;
    readonly Dictionary<string, MemberLane> lanes = new(StringComparer.Ordinal);

    /// <summary>How many attempts were run again after losing a race (for benchmarks and tests).</summary>
    public long Retries => Interlocked.Read(ref retries);

    /// <summary>Writes committed in a transaction shared with earlier writes about the same member (for benchmarks and tests).</summary>
    public long Grouped => Interlocked.Read(ref grouped);

    /// <summary>
    /// Runs <paramref name="write"/> about <paramref name="member"/> (null: no member to group by, as
    /// <see cref="WriteAsync{T}(Func{IdentityDbContext, CancellationToken, Task{T}}, CancellationToken)"/>). When no other
    /// write of this instance about that member is running, it runs at once, alone. Otherwise it waits in the member's
    /// lane; when the running write ends, everything waiting there (up to <see cref="MaxGroup"/>) runs in one
    /// transaction, in arrival order, and each caller is answered only after that commit. A write that fails in it is
    /// run again alone (<see cref="RunGroupAsync"/>), so one write's failure is its own. Across instances the member's
    /// row lock still orders everything, as it does for writes run alone.
    /// </summary>
    public async Task<T> WriteAsync<T>(Func<IdentityDbContext, CancellationToken, Task<T>> write, string? member, CancellationToken cancellationToken)
    {
        if (member is null || !groupMemberWrites)
            return await WriteAsync(write, cancellationToken);
        cancellationToken.ThrowIfCancellationRequested();
        MemberLane? lane;
        QueuedWrite<T>? queued = null;
        lock (lanes)
        {
            if (lanes.TryGetValue(member, out lane))
                lane.Waiting.Enqueue(queued = new QueuedWrite<T>(write, CacheChange.Current, cancellationToken));
            else
                lanes[member] = lane = new MemberLane();
        }
        if (queued is not null)
        {
            using (cancellationToken.Register(static state => ((QueuedWrite)state!).Abandon(), queued))
                return await queued.Result.ConfigureAwait(false);
        }
        try
        {
            return await WriteAsync(write, cancellationToken);
        }
        finally
        {
            if (!Release(member, lane))
            {
                // Others queued meanwhile: they run on their own, not on this caller's time or context.
                using (ExecutionContext.SuppressFlow())
                    _ = Task.Run(() => DrainAsync(member, lane));
            }
        }
    }

    /// <summary>Ends the lane when nobody waits in it; false when somebody does (the lane stays, for them).</summary>
    bool Release(string member, MemberLane lane)
    {
        lock (lanes)
        {
            if (lane.Waiting.Count > 0)
                return false;
            lanes.Remove(member);
            return true;
        }
    }

    async Task DrainAsync(string member, MemberLane lane)
    {
        var group = new List<QueuedWrite>(MaxGroup);
        while (true)
        {
            lock (lanes)
            {
                while (group.Count < MaxGroup && lane.Waiting.TryDequeue(out var next))
                {
                    if (next.Claim())
                        group.Add(next);
                }
                if (group.Count == 0)
                {
                    lanes.Remove(member);
                    return;
                }
            }
            try
            {
                await RunGroupAsync(group).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // Never leave a caller waiting (a write already answered keeps its answer).
                foreach (var write in group)
                    write.Fail(e);
            }
            group.Clear();
        }
    }

    /// <summary>
    /// Runs the group in one transaction. A write that fails in it is taken out and run alone after the others, which run
    /// together again from the start (nothing of the failed attempt was kept), so a refusal or a lost race is that
    /// write's own and costs the others one more attempt. A failure that names no write (the connection) runs each alone.
    /// </summary>
    async Task RunGroupAsync(List<QueuedWrite> group)
    {
        var alone = new List<QueuedWrite>();
        var together = new List<QueuedWrite>(group);
        while (together.Count > 1)
        {
            together.RemoveAll(write => write.DropIfCancelled());
            if (together.Count <= 1)
                break;
            var outcome = await TryRunTogetherAsync(together).ConfigureAwait(false);
            if (outcome.Failed is { } failed)
            {
                together.Remove(failed);
                alone.Add(failed);
                continue;
            }
            if (outcome.Unattributed)
                break;
            foreach (var write in together)
            {
                if (outcome.CommitFailure is null)
                    write.Complete();
                else
                    write.Fail(outcome.CommitFailure);
            }
            if (outcome.CommitFailure is null)
                Interlocked.Add(ref grouped, together.Count - 1);
            together.Clear();
        }
        foreach (var write in together.Concat(alone))
            await RunAloneAsync(write).ConfigureAwait(false);
    }

    /// <summary>
    /// One attempt at the writes in one transaction: the write that failed in it (nothing kept), a failure that names no
    /// write (nothing kept), or the commit's outcome. A commit that fails is that of every write in it, as it would be
    /// of a write run alone (the caller retries; a write that did commit replays by its key).
    /// </summary>
    async Task<(QueuedWrite? Failed, bool Unattributed, Exception? CommitFailure)> TryRunTogetherAsync(List<QueuedWrite> group)
    {
        var outer = CacheChange.Current;
        var committed = false;
        QueuedWrite? running = null;
        try
        {
            // The transaction is no single caller's: one caller's cancellation stops its own write (which then runs alone
            // and is cancelled there), never the begin or the commit of the others.
            await using var db = await contexts.CreateDbContextAsync().ConfigureAwait(false);
            db.Database.AutoSavepointsEnabled = false;
            await using var transaction = await db.Database.BeginTransactionAsync(IsolationLevel.ReadCommitted).ConfigureAwait(false);
            foreach (var write in group)
            {
                running = write;
                write.Change?.Discard();
                CacheChange.Current = write.Change;
                await write.RunAsync(db).ConfigureAwait(false);
                await db.SaveChangesAsync(write.CancellationToken).ConfigureAwait(false);
                db.ChangeTracker.Clear();
            }
            running = null;
            CacheChange.Current = outer;
            try
            {
                await transaction.CommitAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                return (null, false, e);
            }
            committed = true;
            return (null, false, null);
        }
        catch (Exception) when (committed)
        {
            // Committed: what fails after the commit (releasing the connection) changes nothing that was written.
            return (null, false, null);
        }
        catch (Exception)
        {
            foreach (var write in group)
                write.Change?.Discard();
            return (running, running is null, null);
        }
        finally
        {
            CacheChange.Current = outer;
        }
    }

    async Task RunAloneAsync(QueuedWrite write)
    {
        var outer = CacheChange.Current;
        CacheChange.Current = write.Change;
        try
        {
            await WriteAsync<bool>(async (db, _) =>
            {
                await write.RunAsync(db).ConfigureAwait(false);
                return true;
            }, write.CancellationToken).ConfigureAwait(false);
            write.Complete();
        }
        catch (Exception e)
        {
            write.Fail(e);
        }
        finally
        {
            CacheChange.Current = outer;
        }
    }

    /// <summary>The writes waiting for the member's running write, in arrival order (guarded by the lane table's lock).</summary>
    sealed class MemberLane
    {
        public Queue<QueuedWrite> Waiting { get; } = new();
    }

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
