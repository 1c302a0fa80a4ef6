using System.Reflection;
using Identity.Service.Storage.PostgresMigrations;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Migrations.Internal;

namespace Identity.Service.Storage;

/// <summary>
/// Both providers' migrations live in this assembly. SQLite's (<c>Storage/Migrations</c>) name
/// <see cref="IdentityDbContext"/>, as EF Core expects; PostgreSQL's (<c>Storage/PostgresMigrations</c>) name
/// <see cref="PostgresMigrationSet"/>, and a PostgreSQL context gets those and their snapshot instead.
/// </summary>
#pragma warning disable EF1001 // MigrationsAssembly is public but marked internal; only its discovery is changed.
sealed class ProviderMigrationsAssembly(
    ICurrentDbContext currentContext,
    IDbContextOptions options,
    IMigrationsIdGenerator idGenerator,
    IDiagnosticsLogger<DbLoggerCategory.Migrations> logger) : MigrationsAssembly(currentContext, options, idGenerator, logger)
{
    public const string PostgresProvider = "Npgsql.EntityFrameworkCore.PostgreSQL";

    readonly bool postgres = currentContext.Context.Database.ProviderName == PostgresProvider;
    IReadOnlyDictionary<string, TypeInfo>? migrations;
    ModelSnapshot? snapshot;

    /// <summary>The namespace (under the project's root) that holds a provider's migrations.</summary>
    public static string SubNamespaceFor(string? provider) => provider == PostgresProvider ? "Storage.PostgresMigrations" : "Storage.Migrations";

    public override IReadOnlyDictionary<string, TypeInfo> Migrations => !postgres
        ? base.Migrations
        : migrations ??= new SortedList<string, TypeInfo>(
            OwnTypes().Where(t => t.IsSubclassOf(typeof(Migration)) && t.GetCustomAttribute<MigrationAttribute>() is not null)
                .ToDictionary(t => t.GetCustomAttribute<MigrationAttribute>()!.Id, t => t), StringComparer.Ordinal);

    public override ModelSnapshot? ModelSnapshot => !postgres
        ? base.ModelSnapshot
        : snapshot ??= OwnTypes().Where(t => t.IsSubclassOf(typeof(ModelSnapshot)))
            .Select(t => (ModelSnapshot)Activator.CreateInstance(t.AsType())!).FirstOrDefault();

    IEnumerable<TypeInfo> OwnTypes() =>
        Assembly.DefinedTypes.Where(t => !t.IsAbstract && t.GetCustomAttribute<DbContextAttribute>()?.ContextType == typeof(PostgresMigrationSet));
}
#pragma warning restore EF1001
