namespace Identity.IntegrationTests.Infrastructure;

/// <summary>A test about the SQLite file itself (its locks, its disk): skipped, saying why, on the PostgreSQL pass.</summary>
public sealed class SqliteFactAttribute : FactAttribute
{
    public SqliteFactAttribute(string why) => Skip = TestStore.SqliteOnly(why);
}
