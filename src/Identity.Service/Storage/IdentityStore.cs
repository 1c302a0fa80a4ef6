using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Identity.Service.Errors;
using Identity.Service.Hosting;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Options;

namespace Identity.Service.Storage;

/// <summary>
/// Runs reads and write transactions against the store. SQLite allows one writer at a time: writes from this process
/// queue for <see cref="SqliteGroupCommit"/>, which commits those queued together in one <c>BEGIN IMMEDIATE</c>
/// transaction, so they never fail with SQLITE_BUSY part-way (a lock held by another process is waited for up to the
/// busy timeout). A write that cannot start within the busy timeout fails as a store fault the caller retries
/// (UNAVAILABLE).
/// On PostgreSQL the database orders concurrent writes, across instances: see <see cref="PostgresWrites"/>.
/// </summary>
public sealed class IdentityStore : IAsyncDisposable
{
    readonly IDbContextFactory<IdentityDbContext> contexts;
    readonly PostgresWrites? postgres;

    /// <summary>PostgreSQL writes run again after losing a race (0 on SQLite).</summary>
    public long WriteRetries => postgres?.Retries ?? 0;

    public bool IsPostgres => postgres is not null;

    readonly SemaphoreSlim writeGate = new(1, 1);
    readonly SemaphoreSlim checkpointGate = new(1, 1);
    readonly SqliteGroupCommit groupCommit;
    readonly TimeSpan busyTimeout;

    public IdentityStore(IDbContextFactory<IdentityDbContext> contexts, IOptions<IdentityOptions> options, SqliteWriterConnection? writer = null)
    {
        this.contexts = contexts;
        if (options.Value.Store.IsPostgres)
            postgres = new PostgresWrites(contexts, options.Value.Store.WriteAttempts, options.Value.Store.GroupMemberWrites);
        busyTimeout = TimeSpan.FromSeconds(Math.Max(1, options.Value.Database.BusyTimeoutSeconds));
        groupCommit = new SqliteGroupCommit(contexts, writer, writeGate, busyTimeout);
    }

    public async Task<T> ReadAsync<T>(Func<IdentityDbContext, CancellationToken, Task<T>> read, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        db.ChangeTracker.QueryTrackingBehavior = QueryTrackingBehavior.NoTracking;
        return await read(db, cancellationToken);
    }

    /// <summary>
    /// Runs <paramref name="write"/> in a transaction and returns once it has committed; if it throws, nothing of it is
    /// written (on SQLite, other writes committed with it are not affected).
    /// </summary>
    public Task<T> WriteAsync<T>(Func<IdentityDbContext, CancellationToken, Task<T>> write, CancellationToken cancellationToken) =>
        WriteAsync(write, null, cancellationToken);

    /// <summary>
    /// As <see cref="WriteAsync{T}(Func{IdentityDbContext, CancellationToken, Task{T}}, CancellationToken)"/>, for a
    /// write about <paramref name="member"/>: on PostgreSQL, writes about one member that queue behind each other on
    /// this instance share a transaction (<see cref="PostgresWrites"/>). SQLite's group commit already does that for
    /// every write.
    /// </summary>
    public Task<T> WriteAsync<T>(Func<IdentityDbContext, CancellationToken, Task<T>> write, string? member, CancellationToken cancellationToken) =>
        postgres is not null ? postgres.WriteAsync(write, member, cancellationToken) : groupCommit.WriteAsync(write, cancellationToken);

    /// <summary>PostgreSQL writes committed in a transaction shared with an earlier write about the same member (0 on SQLite).</summary>
    public long GroupedWrites => postgres?.Grouped ?? 0;

    /// <summary>
    /// Copies the write-ahead log into the database and truncates it to zero bytes (SQLite; a no-op elsewhere), so
    /// that no earlier page image survives in the log. Returns false when readers or other checkpoints kept it from
    /// completing within the busy timeout.
    /// </summary>
    public async Task<bool> CheckpointAsync(CancellationToken cancellationToken)
    {
        // PostgreSQL has no such log to empty from here: docs/privacy.md says what an operator does instead.
        if (postgres is not null)
            return true;
        await writeGate.WaitAsync(cancellationToken);
        try
        {
            await checkpointGate.WaitAsync(cancellationToken);
            try
            {
                await using var db = await contexts.CreateDbContextAsync(cancellationToken);
                if (!db.Database.IsSqlite())
                    return true;
                var connection = db.Database.GetDbConnection();
                await db.Database.OpenConnectionAsync(cancellationToken);
                // SQLite runs one checkpoint at a time: while another connection checkpoints (another instance on the
                // same file), it answers busy at once, without waiting through the busy timeout as it does for readers.
                var started = System.Diagnostics.Stopwatch.StartNew();
                while (true)
                {
                    if (await TruncateLogAsync(connection, cancellationToken))
                        return true;
                    if (started.Elapsed >= busyTimeout)
                        return false;
                    await Task.Delay(TimeSpan.FromMilliseconds(10), cancellationToken);
                }
            }
            finally
            {
                checkpointGate.Release();
            }
        }
        finally
        {
            writeGate.Release();
        }
    }

    static async Task<bool> TruncateLogAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        // One row: busy (1 when a reader, a writer or another checkpoint blocked it), frames in the log, frames checkpointed.
        return await reader.ReadAsync(cancellationToken) && reader.GetInt64(0) == 0;
    }

    /// <summary>
    /// Runs the background checkpoint (<see cref="SqliteCheckpointer"/>) so that <see cref="CheckpointAsync"/> waits for
    /// it to finish instead of meeting it as busy.
    /// </summary>
    public async Task RunBackgroundCheckpointAsync(Func<CancellationToken, Task> checkpoint, CancellationToken cancellationToken)
    {
        await checkpointGate.WaitAsync(cancellationToken);
        try
        {
            await checkpoint(cancellationToken);
        }
        finally
        {
            checkpointGate.Release();
        }
    }

    public ValueTask DisposeAsync() => groupCommit.DisposeAsync();
}

/// <summary>
/// Per-connection SQLite settings (WAL itself is persistent and set once at migration). <c>secure_delete</c> makes
/// SQLite overwrite deleted content and freed pages with zeros, so an erased member's data does not linger in free space.
/// </summary>
sealed class SqliteConnectionSettings(int busyTimeoutSeconds) : DbConnectionInterceptor
{
    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Apply(connection, busyTimeoutSeconds);

    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Apply(connection, busyTimeoutSeconds);
        return Task.CompletedTask;
    }

    public static void Apply(DbConnection connection, int busyTimeoutSeconds, string more = "")
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA busy_timeout = {busyTimeoutSeconds * 1000}; PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON;{more}";
        command.ExecuteNonQuery();
    }
}
