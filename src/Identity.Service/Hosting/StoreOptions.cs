namespace Identity.Service.Hosting;

/// <summary>The <c>Identity:Store</c> section.</summary>
public sealed class StoreOptions
{
    /// <summary><c>Sqlite</c> (default) or <c>Postgres</c>.</summary>
    public StoreProvider Provider { get; set; } = StoreProvider.Sqlite;

    /// <summary>
    /// For Postgres, an Npgsql connection string (required). For SQLite, optional: a SQLite connection string whose data
    /// source is the file (<c>Database:Path</c>, when set, still wins).
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>How many times a PostgreSQL write is run from the start when it lost a race to another transaction.</summary>
    public int WriteAttempts { get; set; } = 12;

    public bool IsPostgres => Provider == StoreProvider.Postgres;
}
