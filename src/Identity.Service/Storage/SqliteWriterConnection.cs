using Identity.Service.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Storage;

/// <summary>
/// The SQLite writer's own connection, kept open from one group commit to the next instead of taken from the pool for
/// each. SQLite drops a connection's page cache whenever another connection has written; only the writer writes, so
/// its cache stays valid and warm across groups: the upper pages of every index (the phone index, identities, row
/// keys, the outbox) are read from memory rather than from the file for each write. With it the writer gets a larger
/// cache (<see cref="CacheKibibytes"/>), and leaves the checkpoints to <see cref="SqliteCheckpointer"/> (its own only
/// past <see cref="CheckpointPages"/>), so that a page written by many groups in a row is copied into the database once
/// per checkpoint, not once per group, and never inside a commit. The plain statements every write runs
/// (<see cref="RawSql"/>) stay prepared on it. A group whose transaction failed drops the connection (<see cref="Reset"/>);
/// the next one opens a new one.
/// </summary>
public sealed class SqliteWriterConnection(IdentityOptions options, Action<DbContextOptionsBuilder, SqliteConnection> configure) : IAsyncDisposable
{
    /// <summary>The writer's page cache: 32 MiB (a pooled reader keeps SQLite's default of 2 MiB).</summary>
    public const int CacheKibibytes = 32 * 1024;

    /// <summary>
    /// Write-ahead log pages (4 KiB each) after which a commit checkpoints: 200 MiB (SQLite's default is 1,000 pages). The
    /// log is normally copied long before, in the background (<see cref="SqliteCheckpointer"/>); this is the writer's
    /// backstop, so that a commit does not stop to copy the log while the writes queued behind it wait.
    /// </summary>
    public const int CheckpointPages = 50_000;

    /// <summary>The size the log file is cut back to once it has been emptied (64 MiB), so a burst of writes leaves no large file behind.</summary>
    public const long LogSizeLimitBytes = 64L * 1024 * 1024;

    SqliteConnection? connection;
    DbContextOptions<IdentityDbContext>? contextOptions;

    /// <summary>A context on the writer's connection (opened on first use); disposing it leaves the connection open.</summary>
    public async Task<IdentityDbContext> CreateContextAsync()
    {
        if (connection is null || contextOptions is null)
        {
            // Not pooled: it is the writer's alone, and closed for good when dropped.
            var opened = new SqliteConnection(StoreConfiguration.SqliteConnectionString(options, pooled: false));
            try
            {
                await opened.OpenAsync().ConfigureAwait(false);
                SqliteConnectionSettings.Apply(opened, options.Database.BusyTimeoutSeconds,
                    $" PRAGMA cache_size = -{CacheKibibytes}; PRAGMA wal_autocheckpoint = {CheckpointPages}; PRAGMA journal_size_limit = {LogSizeLimitBytes};");
            }
            catch
            {
                await opened.DisposeAsync().ConfigureAwait(false);
                throw;
            }
            RawSql.KeepPrepared(opened);
            var builder = new DbContextOptionsBuilder<IdentityDbContext>();
            configure(builder, opened);
            connection = opened;
            contextOptions = builder.Options;
        }
        return new IdentityDbContext(contextOptions);
    }

    /// <summary>Closes the connection after a failed group: whatever state the failure left it in is not carried over.</summary>
    public void Reset()
    {
        var closing = connection;
        connection = null;
        contextOptions = null;
        if (closing is null)
            return;
        try
        {
            RawSql.Forget(closing);
            closing.Dispose();
        }
        catch (SqliteException)
        {
            // Closing a connection whose file is in trouble may fail: it is gone either way.
        }
    }

    public ValueTask DisposeAsync()
    {
        Reset();
        return ValueTask.CompletedTask;
    }
}
