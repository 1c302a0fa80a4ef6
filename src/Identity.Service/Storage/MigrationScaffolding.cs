using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Microsoft.EntityFrameworkCore.Migrations.Design;
using Microsoft.EntityFrameworkCore.Sqlite.Design.Internal;

namespace Identity.Service.Storage;

/// <summary>
/// <c>dotnet run --project src/Identity.Service -- add-migration Name</c> writes a migration for model changes into
/// <c>Storage/Migrations</c>, using EF Core's own scaffolder (the same one <c>dotnet ef</c> drives).
/// </summary>
static class MigrationScaffolding
{
    public static int AddMigration(string name)
    {
        var projectDir = Path.GetFullPath(Directory.GetCurrentDirectory());
        if (!File.Exists(Path.Combine(projectDir, "Identity.Service.csproj")))
            projectDir = Path.GetFullPath(Path.Combine(projectDir, "src", "Identity.Service"));

        using var db = new IdentityDbContext(new DbContextOptionsBuilder<IdentityDbContext>().UseSqlite("Data Source=:memory:").Options);
        var services = new ServiceCollection()
            .AddEntityFrameworkDesignTimeServices()
            .AddDbContextDesignTimeServices(db);
#pragma warning disable EF1001 // The provider's design-time services are public but marked internal.
        new SqliteDesignTimeServices().ConfigureDesignTimeServices(services);
#pragma warning restore EF1001
        using var provider = services.BuildServiceProvider();
        var scaffolder = provider.GetRequiredService<IMigrationsScaffolder>();
        var migration = scaffolder.ScaffoldMigration(name, "Identity.Service", "Storage.Migrations", "C#");
        var files = scaffolder.Save(projectDir, migration, Path.Combine(projectDir, "Storage", "Migrations"));
        Console.WriteLine($"Wrote {files.MigrationFile}, {files.MetadataFile} and {files.SnapshotFile}.");
        return 0;
    }
}
