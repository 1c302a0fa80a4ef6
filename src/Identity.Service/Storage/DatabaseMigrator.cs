using Identity.Service.Hosting;
using Identity.Service.Loyalty;
using Identity.Service.Phones;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Identity.Service.Storage;

/// <summary>Applies EF Core migrations before the server takes calls; health stays NOT_SERVING until it has.</summary>
public sealed class DatabaseMigrator(
    IDbContextFactory<IdentityDbContext> contexts,
    PhoneKeys phoneKeys,
    ProgramCatalog programs,
    Security.ClientRegistry clients,
    IOptions<IdentityOptions> options,
    DatabaseReadiness readiness,
    IdentityStore store,
    TimeProvider clock,
    ILogger<DatabaseMigrator> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        // Resolving the keys here makes a bad key configuration fail the start, not the first call.
        _ = phoneKeys.IndexKey;
        var path = options.Value.DatabasePath;
        if (!store.IsPostgres)
            DataDirectory.Ensure(Path.GetDirectoryName(Path.GetFullPath(path))!);
        await using var db = await contexts.CreateDbContextAsync(cancellationToken);
        if (store.IsPostgres)
        {
            // Instances starting together take turns: one migrates and creates the bootstrap admin, the others find it done.
            await db.Database.OpenConnectionAsync(cancellationToken);
            await db.Database.ExecuteSqlRawAsync("SELECT pg_advisory_lock(" + StartLockId + ");", cancellationToken);
        }
        int pending;
        try
        {
            var pendingNames = (await db.Database.GetPendingMigrationsAsync(cancellationToken)).ToList();
            pending = pendingNames.Count;
            if (!store.IsPostgres)
                await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode = WAL;", cancellationToken);
            await db.Database.MigrateAsync(cancellationToken);
            if (pendingNames.Any(n => n.EndsWith("_" + CompleteErasureMigration, StringComparison.Ordinal)))
                await CompleteErasuresAsync(fresh: pending == db.Database.GetMigrations().Count(), cancellationToken);
            await programs.InitializeAsync(cancellationToken);
            await BootstrapAdminAsync(cancellationToken);
        }
        finally
        {
            // Released even when a step fails: connections go back to the pool without a reset (No Reset On Close). A
            // connection that broke took its session, and the lock, with it.
            if (store.IsPostgres)
            {
                try
                {
                    await db.Database.ExecuteSqlRawAsync("SELECT pg_advisory_unlock(" + StartLockId + ");", CancellationToken.None);
                }
                catch (Exception exception) when (exception is System.Data.Common.DbException or InvalidOperationException)
                {
                    // Closed for good rather than pooled: the session, and with it the lock, ends.
                    Log.StartLockNotReleased(logger, exception);
                    Npgsql.NpgsqlConnection.ClearPool((Npgsql.NpgsqlConnection)db.Database.GetDbConnection());
                }
                await db.Database.CloseConnectionAsync();
            }
        }
        readiness.MarkReady();
        Log.DatabaseReady(logger, store.IsPostgres ? "PostgreSQL" : path, pending);
    }

    /// <summary>The PostgreSQL advisory lock instances hold while they start (any fixed number; this one spells "idnt").</summary>
    const string StartLockId = "1768189556";

    /// <summary>
    /// Upgrading to complete erasure: earlier erasures are completed, and an existing file is rebuilt once (VACUUM), since
    /// pages freed before secure_delete was on may still hold deleted data.
    /// </summary>
    async Task CompleteErasuresAsync(bool fresh, CancellationToken ct)
    {
        if (await Members.MemberErasure.CompleteEarlierAsync(store, clock, ct) is > 0 and var completed)
            Log.ErasuresCompleted(logger, completed);
        if (fresh || store.IsPostgres)
            return;
        await using (var db = await contexts.CreateDbContextAsync(ct))
            await db.Database.ExecuteSqlRawAsync("VACUUM;", ct);
        await store.CheckpointAsync(ct);
    }

    /// <summary>An orderly stop leaves no write-ahead log behind (it may hold page images of erased data).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!readiness.IsReady)
            return;
        try
        {
            if (!await store.CheckpointAsync(cancellationToken))
                Log.CheckpointIncomplete(logger);
        }
        catch (Exception exception) when (exception is System.Data.Common.DbException or OperationCanceledException)
        {
            // A stop never fails for it (the file may already be gone); the next start's first erasure checkpoints again.
            Log.CheckpointIncomplete(logger);
        }
    }

    /// <summary>
    /// Authentication is on even with no configuration: the first start creates an admin client and writes its key to
    /// the data directory (owner-only), where the CLI finds it when it talks to the local default.
    /// </summary>
    async Task BootstrapAdminAsync(CancellationToken ct)
    {
        if (await clients.BootstrapAsync(ct) is not { } key)
            return;
        var path = Path.Combine(options.Value.DataDirectory, BootstrapKeyFile);
        DataDirectory.Ensure(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var fileOptions = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        await using (var stream = new FileStream(path, fileOptions))
        await using (var writer = new StreamWriter(stream))
            await writer.WriteLineAsync(key.AsMemory(), ct);
        Log.BootstrapKeyWritten(logger, path);
    }

    public const string BootstrapKeyFile = "admin.key";

    /// <summary>The migration that made erasure complete; applying it completes earlier erasures.</summary>
    const string CompleteErasureMigration = "CompleteErasure";
}

public sealed class DatabaseReadiness
{
    volatile bool ready;

    public bool IsReady => ready;

    public void MarkReady() => ready = true;
}

/// <summary>
/// Readiness (grpc.health.v1 and <c>/readyz</c>): the database is migrated and can be opened and read now. The probe
/// opens its own connection, outside the pool, since a pooled connection keeps working on a file that has since gone.
/// One probe serves every check for <see cref="ReuseMilliseconds"/>: load balancers and monitors call grpc.health.v1
/// at high rates, and a connection per call would make the health check the most expensive call the server answers.
/// </summary>
public sealed class DatabaseHealthCheck(DatabaseReadiness readiness, IOptions<IdentityOptions> options) : IHealthCheck
{
    /// <summary>How long one probe's answer is reused (documented in docs/operations.md).</summary>
    public const int ReuseMilliseconds = 1000;

    (Task<HealthCheckResult> Probe, long At)? last;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!readiness.IsReady)
            return Task.FromResult(HealthCheckResult.Unhealthy("database not migrated yet"));
        var now = Environment.TickCount64;
        var current = last;
        if (current is not { } reused || now - reused.At >= ReuseMilliseconds)
        {
            // Shared by every caller meanwhile: bounded by its own timeout, not cancelled with the first caller.
            reused = (ProbeAsync(), now);
            last = reused;
        }
        return reused.Probe.WaitAsync(cancellationToken);
    }

    async Task<HealthCheckResult> ProbeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        var cancellationToken = timeout.Token;
        if (options.Value.Store.IsPostgres)
            return await CheckPostgresAsync(options.Value.Store.ConnectionString!, cancellationToken);
        var connection = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder
        {
            DataSource = options.Value.DatabasePath,
            Mode = Microsoft.Data.Sqlite.SqliteOpenMode.ReadWrite, // never create an empty file in place of a missing one
            Pooling = false,
            DefaultTimeout = 2,
        };
        try
        {
            await using var db = new Microsoft.Data.Sqlite.SqliteConnection(connection.ToString());
            await db.OpenAsync(cancellationToken);
            await using var command = db.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM \"__EFMigrationsHistory\"";
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy("database migrated and reachable");
        }
        catch (Exception exception) when (exception is System.Data.Common.DbException or OperationCanceledException)
        {
            // The message names the SQLite error (cannot open, not a database), never data.
            return HealthCheckResult.Unhealthy("database unreachable: " + exception.Message);
        }
    }

    /// <summary>On PostgreSQL there is no file: the store is ready when its database answers.</summary>
    static async Task<HealthCheckResult> CheckPostgresAsync(string connectionString, CancellationToken cancellationToken)
    {
        try
        {
            await using var db = new Npgsql.NpgsqlConnection(connectionString);
            await db.OpenAsync(cancellationToken);
            await using var command = db.CreateCommand();
            command.CommandText = "SELECT COUNT(*) FROM \"__EFMigrationsHistory\"";
            command.CommandTimeout = 2;
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy("database migrated and reachable");
        }
        catch (Exception exception) when (exception is System.Data.Common.DbException or OperationCanceledException)
        {
            return HealthCheckResult.Unhealthy("database unreachable: " + (exception is Npgsql.PostgresException postgres ? postgres.MessageText : exception.Message));
        }
    }
}
