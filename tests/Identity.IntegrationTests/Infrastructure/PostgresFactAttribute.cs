namespace Identity.IntegrationTests.Infrastructure;

/// <summary>A test of several instances on one PostgreSQL database: it runs in the PostgreSQL pass and is skipped, saying why, in the SQLite pass.</summary>
public sealed class PostgresFactAttribute : FactAttribute
{
    public PostgresFactAttribute() => Skip = TestStore.PostgresOnly("several instances share a database only on PostgreSQL");
}
