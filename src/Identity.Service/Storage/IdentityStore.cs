using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Identity.Service.Errors;
using Identity.Service.Hosting;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Options;

namespace Identity.Service.Storage;

/// <summary>
/// Runs reads and write transactions against the store. SQLite allows one writer at a time: writes from this process
/// queue on a gate and then open <c>BEGIN IMMEDIATE</c> transactions, so they never fail with SQLITE_BUSY part-way
/// (a lock held by another process is waited for up to the busy timeout). A write that cannot start within the busy
/// timeout — the gate or the file lock stays taken — fails as a store fault the caller retries (UNAVAILABLE).
/// On PostgreSQL the database orders concurrent writes, across instances: see <see cref="PostgresWrites"/>.
/// </summary>
public sealed class IdentityStore(IDbContextFactory<IdentityDbContext> contexts, IOptions<IdentityOptions> options)
{
    readonly PostgresWrites? postgres = options.Value.Store.IsPostgres ? new PostgresWrites(contexts, options.Value.Store.WriteAttempts) : null;
    /// <summary>PostgreSQL writes run again after losing a race (0 on SQLite).</summary>
    public long WriteRetries => postgres?.Retries ?? 0;

    public bool IsPostgres => postgres is not null;

    readonly SemaphoreSlim writeGate = new(1, 1);
    readonly TimeSpan busyTimeout = TimeSpan.FromSeconds(Math.Max(1, options.Value.Database.BusyTimeoutSeconds));

    public async Task<T> ReadAsync<T>(Func<IdentityDbContext, CancellationToken, Task<T>> read, CancellationToken cancellationToken)
    {
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        db.ChangeTracker.QueryTrackingBehavior = QueryTrackingBehavior.NoTracking;
        return await read(db, cancellationToken);
    }

    /// <summary>Runs <paramref name="write"/> in one transaction and commits it; if it throws, nothing is written.</summary>
    public async Task<T> WriteAsync<T>(Func<IdentityDbContext, CancellationToken, Task<T>> write, CancellationToken cancellationToken)
    {
        if (postgres is not null)
            return await postgres.WriteAsync(write, cancellationToken);
        if (!await writeGate.WaitAsync(busyTimeout, cancellationToken))
            throw new StoreBusyException(busyTimeout);
        try
        {
            await using var db = await contexts.CreateDbContextAsync(cancellationToken);
            await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
            var result = await write(db, cancellationToken);
            await db.SaveChangesAsync(cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return result;
        }
        finally
        {
            writeGate.Release();
        }
    }

    /// <summary>
    /// Copies the write-ahead log into the database and truncates it to zero bytes (SQLite; a no-op elsewhere), so
    /// that no earlier page image survives in the log. Returns false when readers kept it from completing.
    /// </summary>
    public async Task<bool> CheckpointAsync(CancellationToken cancellationToken)
    {
        // PostgreSQL has no such log to empty from here: docs/privacy.md says what an operator does instead.
        if (postgres is not null)
            return true;
        await writeGate.WaitAsync(cancellationToken);
        try
        {
            await using var db = await contexts.CreateDbContextAsync(cancellationToken);
            if (!db.Database.IsSqlite())
                return true;
            var connection = db.Database.GetDbConnection();
            await db.Database.OpenConnectionAsync(cancellationToken);
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            // One row: busy (1 when a reader or writer blocked it), frames in the log, frames checkpointed.
            return await reader.ReadAsync(cancellationToken) && reader.GetInt64(0) == 0;
        }
        finally
        {
            writeGate.Release();
        }
    }
}

/// <summary>
/// Per-connection SQLite settings (WAL itself is persistent and set once at migration). <c>secure_delete</c> makes
/// SQLite overwrite deleted content and freed pages with zeros, so an erased member's data does not linger in free space.
/// </summary>
sealed class SqliteConnectionSettings(int busyTimeoutSeconds) : DbConnectionInterceptor
{
    public override void ConnectionOpened(DbConnection connection, ConnectionEndEventData eventData) => Apply(connection);

    public override Task ConnectionOpenedAsync(DbConnection connection, ConnectionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Apply(connection);
        return Task.CompletedTask;
    }

    void Apply(DbConnection connection)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA busy_timeout = {busyTimeoutSeconds * 1000}; PRAGMA synchronous = NORMAL; PRAGMA secure_delete = ON;";
        command.ExecuteNonQuery();
    }
}
