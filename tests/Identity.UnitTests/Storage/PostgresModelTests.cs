using Identity.Service.Hosting;
using Identity.Service.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;

namespace Identity.UnitTests.Storage;

/// <summary>Each provider has its own migrations, complete for the one model, and sees no other provider's.</summary>
public sealed class PostgresModelTests
{
    static IdentityDbContext Context(StoreProvider provider)
    {
        var builder = new DbContextOptionsBuilder<IdentityDbContext>();
        // No database is opened: the model and the migrations are compared in memory.
        builder.Use(new IdentityOptions
        {
            Database = { Path = ":memory:" },
            Store = { Provider = provider, ConnectionString = provider == StoreProvider.Postgres ? "Host=localhost" : null },
        });
        return new IdentityDbContext(builder.Options);
    }

    [Fact]
    public void The_model_has_no_changes_missing_from_the_postgres_migrations()
    {
        using var db = Context(StoreProvider.Postgres);
        Assert.False(db.Database.HasPendingModelChanges(), "Run add-migration Name --provider Postgres: the model differs from its last snapshot.");
    }

    [Fact]
    public void Each_provider_sees_only_its_own_migrations()
    {
        using var postgres = Context(StoreProvider.Postgres);
        using var sqlite = Context(StoreProvider.Sqlite);
        using var plain = new IdentityDbContext(new DbContextOptionsBuilder<IdentityDbContext>().UseSqlite("Data Source=:memory:").Options);

        var postgresMigrations = postgres.Database.GetMigrations().ToList();
        Assert.NotEmpty(postgresMigrations);
        Assert.Equal(sqlite.Database.GetMigrations(), plain.Database.GetMigrations());
        Assert.Contains(sqlite.Database.GetMigrations(), m => m.EndsWith("_InitialCreate", StringComparison.Ordinal));
        Assert.Empty(postgresMigrations.Intersect(sqlite.Database.GetMigrations()));
    }

    [Fact]
    public void Text_compares_by_code_point_on_postgres_as_on_sqlite()
    {
        using var db = Context(StoreProvider.Postgres);
        // Collations are schema facts: the design-time model keeps them, the runtime model drops them.
        var model = db.GetService<Microsoft.EntityFrameworkCore.Metadata.IDesignTimeModel>().Model;
        var columns = model.GetEntityTypes().SelectMany(e => e.GetProperties()).Where(p => p.ClrType == typeof(string)).ToList();
        Assert.NotEmpty(columns);
        Assert.All(columns, p => Assert.Equal("C", p.GetCollation()));
    }
}
