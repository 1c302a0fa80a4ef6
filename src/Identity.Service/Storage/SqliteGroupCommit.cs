using System.Data.Common;
using System.Threading.Channels;
using Identity.Service.Caching;
using Identity.Service.Errors;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Identity.Service.Storage;

/// <summary>
/// SQLite group commit. SQLite has one writer, so writes queue; instead of one transaction each, the writer takes every
/// write queued by then (at most <see cref="MaxGroup"/>) into one <c>BEGIN IMMEDIATE</c> transaction on one connection,
/// runs each inside its own SAVEPOINT (a write that throws rolls back only its own work), commits once, and only then
/// completes the callers: nobody is acknowledged before the commit that holds their write. Each write runs on a context
/// whose change tracker holds only its own entities, so <see cref="CacheChangeInterceptor"/> sees exactly that write
/// and writes its outbox rows inside its savepoint.
/// </summary>
public sealed class SqliteGroupCommit : IAsyncDisposable
{
    /// <summary>The most writes one transaction holds: enough to amortise BEGIN/COMMIT, few enough to keep each wait short.</summary>
    public const int MaxGroup = 64;

    readonly IDbContextFactory<IdentityDbContext> contexts;
    readonly SqliteWriterConnection? connection;
    readonly SemaphoreSlim gate;
    readonly TimeSpan busyTimeout;
    readonly Channel<QueuedWrite> queue = Channel.CreateUnbounded<QueuedWrite>(new UnboundedChannelOptions { SingleReader = true });
    readonly Task writer;

    /// <param name="connection">The writer's own connection (else each group takes one from the pool); its owner closes it.</param>
    /// <param name="gate">Held around each group; whoever else takes it (the WAL checkpoint) runs between groups.</param>
    public SqliteGroupCommit(IDbContextFactory<IdentityDbContext> contexts, SqliteWriterConnection? connection, SemaphoreSlim gate, TimeSpan busyTimeout)
    {
        this.contexts = contexts;
        this.connection = connection;
        this.gate = gate;
        this.busyTimeout = busyTimeout;
        // The writer serves every caller: it must not carry the context (activity, cache change) of the first one.
        using (ExecutionContext.SuppressFlow())
            writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>
    /// Queues <paramref name="write"/> and returns once the transaction holding it has committed. A write that has not
    /// started when <paramref name="cancellationToken"/> fires, or within the busy timeout, is dropped (cancelled, or
    /// <see cref="StoreBusyException"/>); one that has started finishes with its group.
    /// </summary>
    public async Task<T> WriteAsync<T>(Func<IdentityDbContext, CancellationToken, Task<T>> write, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var queued = new QueuedWrite<T>(write, CacheChange.Current, cancellationToken) { WaitLimit = busyTimeout };
        if (!queue.Writer.TryWrite(queued))
            throw new ObjectDisposedException(nameof(SqliteGroupCommit));
        using var timeout = new CancellationTokenSource(busyTimeout);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        using (linked.Token.Register(static state => ((QueuedWrite)state!).Abandon(), queued))
        {
            return await queued.Result.ConfigureAwait(false);
        }
    }

    async Task WriteLoopAsync()
    {
        var group = new List<QueuedWrite>(MaxGroup);
        while (await queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (group.Count < MaxGroup && queue.Reader.TryRead(out var next))
            {
                if (next.Claim())
                    group.Add(next);
            }
            if (group.Count == 0)
                continue;
            await gate.WaitAsync().ConfigureAwait(false);
            try
            {
                var start = 0;
                while (start < group.Count)
                    start = await CommitGroupAsync(group, start).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                // Never leave a caller waiting: whatever was not answered fails (a write already answered keeps its answer).
                foreach (var write in group)
                    write.Fail(e);
            }
            finally
            {
                gate.Release();
                group.Clear();
            }
        }
    }

    /// <summary>
    /// Runs group[start..] in one transaction; returns where the next transaction starts. A store fault (busy, full, a
    /// broken transaction) fails the writes of this transaction and leaves the rest for a fresh one.
    /// </summary>
    async Task<int> CommitGroupAsync(List<QueuedWrite> group, int start)
    {
        var ran = new List<QueuedWrite>(group.Count - start);
        var end = start;
        var committed = false;
        IdentityDbContext? db = null;
        try
        {
            db = connection is null ? await contexts.CreateDbContextAsync().ConfigureAwait(false) : await connection.CreateContextAsync().ConfigureAwait(false);
            db.Database.AutoSavepointsEnabled = false; // each write has its own savepoint, taken here
            await using var transaction = await db.Database.BeginTransactionAsync().ConfigureAwait(false);
            var dbTransaction = transaction.GetDbTransaction();
            for (; end < group.Count; end++)
            {
                var write = group[end];
                if (write.DropIfCancelled())
                    continue;
                await dbTransaction.SaveAsync("w").ConfigureAwait(false);
                if (await RunAsync(db, write).ConfigureAwait(false) is { } failure)
                {
                    db.ChangeTracker.Clear();
                    // SQLite may have rolled the whole transaction back on a store fault: nothing of it can commit.
                    if (StoreFaults.Classify(failure) is not null)
                        throw new GroupFault(failure, write);
                    await dbTransaction.RollbackAsync("w").ConfigureAwait(false);
                    await dbTransaction.ReleaseAsync("w").ConfigureAwait(false);
                    write.Fail(failure);
                    continue;
                }
                await dbTransaction.ReleaseAsync("w").ConfigureAwait(false);
                db.ChangeTracker.Clear();
                ran.Add(write);
            }
            await transaction.CommitAsync().ConfigureAwait(false);
            committed = true;
        }
        catch (Exception) when (committed)
        {
            // Committed: what fails after the commit (releasing the transaction) changes nothing that was written.
        }
        catch (GroupFault fault)
        {
            connection?.Reset();
            foreach (var write in ran)
                write.Fail(fault.InnerException!);
            fault.Write.Fail(fault.InnerException!);
            // The writes not yet run had no part in it: they get a transaction of their own.
            return end + 1;
        }
        catch (Exception e)
        {
            connection?.Reset();
            // BEGIN, a savepoint or COMMIT failed: nothing of this transaction is written, and the store is not fit for
            // the rest of the group either (they are told to retry, as a write that found the store busy is).
            foreach (var write in ran)
                write.Fail(e);
            for (var i = end; i < group.Count; i++)
                group[i].Fail(e);
            return group.Count;
        }
        finally
        {
            await CloseAsync(db).ConfigureAwait(false);
        }
        foreach (var write in ran)
            write.Complete();
        return group.Count;
    }

    /// <summary>
    /// Returns the context (and its connection) to the pool. Closing can fail with SQLITE_BUSY after the work is done
    /// (resetting a pooled SQLite connection): that never turns a committed write into a failed one. A context whose
    /// reset failed is not pooled again.
    /// </summary>
    static async ValueTask CloseAsync(IdentityDbContext? db)
    {
        if (db is null)
            return;
        try
        {
            await db.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (StoreFaults.Classify(e) is not null)
        {
        }
    }

    /// <summary>Runs one write and saves it; returns what it threw, if anything.</summary>
    static async Task<Exception?> RunAsync(IdentityDbContext db, QueuedWrite write)
    {
        var outer = CacheChange.Current;
        CacheChange.Current = write.Change;
        try
        {
            await write.RunAsync(db).ConfigureAwait(false);
            await db.SaveChangesAsync(write.CancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (Exception e)
        {
            write.Change?.Discard(); // its outbox rows were rolled back with it
            return e;
        }
        finally
        {
            CacheChange.Current = outer;
        }
    }

    public async ValueTask DisposeAsync()
    {
        queue.Writer.TryComplete();
        await writer.ConfigureAwait(false);
    }

    /// <summary>A store fault inside a group: the transaction is not to be trusted, so none of it commits.</summary>
    sealed class GroupFault(Exception inner, QueuedWrite write) : Exception(inner.Message, inner)
    {
        public QueuedWrite Write { get; } = write;
    }
}
