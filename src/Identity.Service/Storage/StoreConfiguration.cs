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

    /// <summary>
    /// The SQLite file's connection string: the operator's, with the data directory's file and the busy timeout; pooled
    /// unless <paramref name="pooled"/> is false (the single writer's own connection).
    /// </summary>
    public static string SqliteConnectionString(IdentityOptions options, bool pooled = true) => new SqliteConnectionStringBuilder(options.Store.ConnectionString ?? "")
    {
        DataSource = options.DatabasePath,
        DefaultTimeout = options.Database.BusyTimeoutSeconds,
        Pooling = pooled,
    }.ToString();

    /// <summary>
    /// The operator's connection string, with two Npgsql defaults changed unless it sets them itself:
    /// <list type="bullet">
    /// <item>automatic preparation on (<c>Max Auto Prepare=64</c>): every call runs the same few statements, and a
    /// prepared one is neither parsed nor planned again. <c>Max Auto Prepare=0</c> turns it off (needed behind a pooler
    /// in transaction mode that does not track prepared statements);</item>
    /// <item>no reset when a connection returns to the pool (<c>No Reset On Close=true</c>): the service leaves no
    /// session state behind (no <c>SET</c>, no temporary table; its one session lock is released in a <c>finally</c>),
    /// so the three statements Npgsql would send before the connection's next use are pure cost.</item>
    /// </list>
    /// </summary>
    public static string PostgresConnectionString(string connectionString)
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        if (!Mentions(connectionString, "Auto Prepare", "AutoPrepare"))
            builder.MaxAutoPrepare = DefaultMaxAutoPrepare;
        if (!Mentions(connectionString, "No Reset On Close", "NoResetOnClose"))
            builder.NoResetOnClose = true;
        return builder.ConnectionString;
    }

    static bool Mentions(string connectionString, params string[] names) =>
        names.Any(name => connectionString.Contains(name, StringComparison.OrdinalIgnoreCase));

    public const int DefaultMaxAutoPrepare = 64;
}
