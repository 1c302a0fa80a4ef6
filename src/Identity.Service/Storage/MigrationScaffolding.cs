using Identity.Service.Hosting;
using Identity.Service.Storage.PostgresMigrations;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Migrations.Design;
using Microsoft.EntityFrameworkCore.Sqlite.Design.Internal;
using Npgsql.EntityFrameworkCore.PostgreSQL.Design.Internal;

namespace Identity.Service.Storage;

/// <summary>
/// <c>dotnet run --project src/Identity.Service -- add-migration Name [--provider Sqlite|Postgres]</c> writes a migration
/// for model changes, using EF Core's own scaffolder (the same one <c>dotnet ef</c> drives): SQLite's into
/// <c>Storage/Migrations</c>, PostgreSQL's into <c>Storage/PostgresMigrations</c>. A model change gets one of each.
/// </summary>
static class MigrationScaffolding
{
    public static int AddMigration(string name, StoreProvider provider)
    {
        var projectDir = Path.GetFullPath(Directory.GetCurrentDirectory());
        if (!File.Exists(Path.Combine(projectDir, "Identity.Service.csproj")))
            projectDir = Path.GetFullPath(Path.Combine(projectDir, "src", "Identity.Service"));

        // No database is opened: the scaffolder compares the model with the provider's last snapshot.
        var options = new IdentityOptions
        {
            Database = { Path = ":memory:" },
            Store = { Provider = provider, ConnectionString = provider == StoreProvider.Postgres ? "Host=localhost" : null },
        };
        var builder = new DbContextOptionsBuilder<IdentityDbContext>();
        builder.Use(options);
        using var db = new IdentityDbContext(builder.Options);
        var services = new ServiceCollection()
            .AddEntityFrameworkDesignTimeServices()
            .AddDbContextDesignTimeServices(db);
#pragma warning disable EF1001 // The provider's design-time services are public but marked internal.
        if (provider == StoreProvider.Postgres)
            new NpgsqlDesignTimeServices().ConfigureDesignTimeServices(services);
        else
            new SqliteDesignTimeServices().ConfigureDesignTimeServices(services);
#pragma warning restore EF1001
        using var serviceProvider = services.BuildServiceProvider();
        var scaffolder = serviceProvider.GetRequiredService<IMigrationsScaffolder>();
        var subNamespace = ProviderMigrationsAssembly.SubNamespaceFor(db.Database.ProviderName);
        var migration = scaffolder.ScaffoldMigration(name, "Identity.Service", subNamespace, "C#");
        // Written here rather than by the scaffolder's Save, which would find the other provider's same-named snapshot.
        var directory = Path.Combine([projectDir, .. subNamespace.Split('.')]);
        Directory.CreateDirectory(directory);
        var files = new[]
        {
            (Path.Combine(directory, migration.MigrationId + migration.FileExtension), migration.MigrationCode),
            (Path.Combine(directory, migration.MigrationId + ".Designer" + migration.FileExtension), migration.MetadataCode),
            (Path.Combine(directory, migration.SnapshotName + migration.FileExtension), migration.SnapshotCode),
        };
        foreach (var (path, code) in files)
            File.WriteAllText(path, provider == StoreProvider.Postgres
                ? code.Replace("[DbContext(typeof(IdentityDbContext))]", "[DbContext(typeof(PostgresMigrationSet))]", StringComparison.Ordinal)
                : code);
        Console.WriteLine($"Wrote {string.Join(", ", files.Select(f => f.Item1))}.");
        return 0;
    }
}
