using System.Reflection;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Microsoft.EntityFrameworkCore.Migrations.Internal;

namespace Identity.Service.Storage;

/// <summary>
/// Both providers' migrations live in this assembly, one namespace each (<c>Storage.Migrations</c> for SQLite,
/// <c>Storage.PostgresMigrations</c> for PostgreSQL); each provider sees only its own migrations and model snapshot.
/// </summary>
#pragma warning disable EF1001 // MigrationsAssembly is public but marked internal; only its discovery is narrowed.
sealed class ProviderMigrationsAssembly(
    ICurrentDbContext currentContext,
    IDbContextOptions options,
    IMigrationsIdGenerator idGenerator,
    IDiagnosticsLogger<DbLoggerCategory.Migrations> logger) : MigrationsAssembly(currentContext, options, idGenerator, logger)
{
    public const string SqliteNamespace = "Identity.Service.Storage.Migrations";
    public const string PostgresNamespace = "Identity.Service.Storage.PostgresMigrations";

    readonly string ns = NamespaceFor(currentContext.Context.Database.ProviderName);
    IReadOnlyDictionary<string, TypeInfo>? migrations;
    ModelSnapshot? snapshot;

    public static string NamespaceFor(string? provider) =>
        provider == "Npgsql.EntityFrameworkCore.PostgreSQL" ? PostgresNamespace : SqliteNamespace;

    public override IReadOnlyDictionary<string, TypeInfo> Migrations =>
        migrations ??= base.Migrations.Where(m => m.Value.Namespace == ns).ToDictionary(m => m.Key, m => m.Value);

    public override ModelSnapshot? ModelSnapshot =>
        snapshot ??= Assembly.DefinedTypes
            .Where(t => !t.IsAbstract && t.Namespace == ns && t.IsSubclassOf(typeof(ModelSnapshot))
                        && t.GetCustomAttribute<DbContextAttribute>()?.ContextType == typeof(IdentityDbContext))
            .Select(t => (ModelSnapshot)Activator.CreateInstance(t.AsType())!)
            .FirstOrDefault();
}
#pragma warning restore EF1001
