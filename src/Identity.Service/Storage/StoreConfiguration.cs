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
            db.UseNpgsql(options.Store.ConnectionString);
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
}
