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

    /// <summary>
    /// Writes the common order (known member, existing account, nothing due to expire) in plain SQL rather than through
    /// the general path; both write the same rows. Default true; false is the way back should the fast path misbehave.
    /// </summary>
    public bool DirectOrderWrites { get; set; } = true;

    /// <summary>
    /// On PostgreSQL, orders of one member that queue behind each other on one instance share a transaction (one row
    /// lock and one commit for all of them) instead of taking the member's row lock in turn. Default true; false runs
    /// each alone. SQLite's group commit does this for every write and has no such switch.
    /// </summary>
    public bool GroupMemberWrites { get; set; } = true;

    public bool IsPostgres => Provider == StoreProvider.Postgres;
}
