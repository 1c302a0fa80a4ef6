namespace Identity.IntegrationTests.Infrastructure;

/// <summary>A theory that runs on the SQLite pass only; the reason shows as the skip reason on the PostgreSQL pass.</summary>
public sealed class SqliteTheoryAttribute : TheoryAttribute
{
    public SqliteTheoryAttribute(string why) => Skip = TestStore.SqliteOnly(why);
}
