namespace Identity.Service.Hosting;

/// <summary>The database behind the service (<c>Identity:Store:Provider</c>).</summary>
public enum StoreProvider
{
    /// <summary>An embedded SQLite file: no setup, one host.</summary>
    Sqlite,

    /// <summary>A PostgreSQL database shared by any number of instances.</summary>
    Postgres,
}
