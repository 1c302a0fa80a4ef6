using Identity.Service.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;

namespace Identity.Service.Storage;

/// <summary>Points a context at the configured store (<c>Identity:Store</c>); the server and the migration scaffolder share it.</summary>
static class StoreConfiguration
{
    public static DbContextOptionsBuilder Use(this DbContextOptionsBuilder db, IdentityOptions options)
    {
        if (options.Store.IsPostgres)
        {
            if (string.IsNullOrWhiteSpace(options.Store.ConnectionString))
                throw new InvalidOperationException("Identity:Store:Provider is Postgres: set Identity:Store:ConnectionString (an Npgsql connection string).");
            db.UseNpgsql(PostgresConnectionString(options.Store.ConnectionString));
        }
        else
        {
            var connection = new SqliteConnectionStringBuilder(options.Store.ConnectionString ?? "")
            {
                DataSource = options.DatabasePath,
                DefaultTimeout = options.Database.BusyTimeoutSeconds,
                Pooling = true,
            };
            db.UseSqlite(connection.ToString());
        }
        return db.ReplaceService<IMigrationsAssembly, ProviderMigrationsAssembly>()
            .ReplaceService<IModelCacheKeyFactory, ProviderModelCacheKey>();
    }

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
