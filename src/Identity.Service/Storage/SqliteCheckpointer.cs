using Identity.Service.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace Identity.Service.Storage;

/// <summary>
/// Copies SQLite's write-ahead log into the database in the background, every
/// <c>Identity:Database:CheckpointIntervalMilliseconds</c>, on a connection of its own. In WAL mode a passive checkpoint
/// runs while the writer appends to the log, so the copying no longer happens inside the commit of whichever write
/// reaches the log's limit, with every write queued behind it waiting. The writer still checkpoints by itself past
/// <see cref="SqliteWriterConnection.CheckpointPages"/>, should this one fall behind or be turned off (0).
/// </summary>
public sealed class SqliteCheckpointer(IdentityStore store, DatabaseReadiness readiness, IOptions<IdentityOptions> options,
    ILogger<SqliteCheckpointer> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (store.IsPostgres || settings.Database.CheckpointIntervalMilliseconds <= 0)
            return;
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(settings.Database.CheckpointIntervalMilliseconds));
        SqliteConnection? connection = null;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                if (!readiness.IsReady)
                    continue;
                try
                {
                    if (connection is null)
                    {
                        connection = new SqliteConnection(StoreConfiguration.SqliteConnectionString(settings, pooled: false));
                        await connection.OpenAsync(stoppingToken);
                        SqliteConnectionSettings.Apply(connection, settings.Database.BusyTimeoutSeconds);
                    }
                    var open = connection;
                    await store.RunBackgroundCheckpointAsync(async ct =>
                    {
                        await using var command = open.CreateCommand();
                        command.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
                        await command.ExecuteNonQueryAsync(ct);
                    }, stoppingToken);
                }
                catch (SqliteException exception)
                {
                    // The next tick opens a new connection; until then the writer checkpoints by itself.
                    Log.BackgroundCheckpointFailed(logger, exception);
                    connection?.Dispose();
                    connection = null;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the orderly stop's own checkpoint empties the log.
        }
        finally
        {
            connection?.Dispose();
        }
    }
}
