using Identity.Service.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Identity.Service.Storage;

/// <summary>Points a context at the configured store (<c>Identity:Store</c>); the server and the migration scaffolder share it.</summary>
static class StoreConfiguration
{
    /// <param name="sqliteConnection">On SQLite, an open connection the context uses instead of its own from the pool (the single writer's).</param>
    public static DbContextOptionsBuilder Use(this DbContextOptionsBuilder db, IdentityOptions options, SqliteConnection? sqliteConnection = null)
    {
        if (options.Store.IsPostgres)
        {
            if (string.IsNullOrWhiteSpace(options.Store.ConnectionString))
                throw new InvalidOperationException("Identity:Store:Provider is Postgres: set Identity:Store:ConnectionString (an Npgsql connection string).");
            db.UseNpgsql(PostgresConnectionString(options.Store.ConnectionString));
        }
        else if (sqliteConnection is not null)
            db.UseSqlite(sqliteConnection);
        else
            db.UseSqlite(SqliteConnectionString(options));
        return db.ReplaceService<IMigrationsAssembly, ProviderMigrationsAssembly>()
            .ReplaceService<IModelCacheKeyFactory, ProviderModelCacheKey>();
    }

    /// <summary>The SQLite file's connection string: the operator's, with the data directory's file, the busy timeout and pooling.</summary>
    public static string SqliteConnectionString(IdentityOptions options) => new SqliteConnectionStringBuilder(options.Store.ConnectionString ?? "")
    {
        DataSource = options.DatabasePath,
        DefaultTimeout = options.Database.BusyTimeoutSeconds,
        Pooling = true,
    }.ToString();

    /// <summary>
    /// The operator's connection string, with Npgsql's automatic preparation on unless it says otherwise: every call
    /// runs the same few statements, and a prepared one is neither parsed nor planned again. <c>Max Auto Prepare=0</c>
    /// turns it off (needed behind a pooler in transaction mode that does not track prepared statements).
    /// </summary>
    public static string PostgresConnectionString(string connectionString)
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        if (!connectionString.Contains("Auto Prepare", StringComparison.OrdinalIgnoreCase) && !connectionString.Contains("AutoPrepare", StringComparison.OrdinalIgnoreCase))
            builder.MaxAutoPrepare = DefaultMaxAutoPrepare;
        return builder.ConnectionString;
    }

    public const int DefaultMaxAutoPrepare = 64;
}
