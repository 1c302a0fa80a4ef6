namespace Identity.Service.Storage.PostgresMigrations;

/// <summary>
/// Names PostgreSQL's migrations and snapshot in their <c>[DbContext]</c> attribute instead of <see cref="IdentityDbContext"/>,
/// so that a context set up with plain <c>UseSqlite</c> (a tool, a test) never sees them; <see cref="ProviderMigrationsAssembly"/>
/// hands them to PostgreSQL contexts.
/// </summary>
static class PostgresMigrationSet;
