namespace Identity.Service.Hosting;

/// <summary>The <c>Identity</c> configuration section. Every value has a default, so the server runs with none.</summary>
public sealed class IdentityOptions
{
    public const string Section = "Identity";

    /// <summary>Where the embedded database and development keys live. Relative paths are under the working directory.</summary>
    public string DataDirectory { get; set; } = "data";

    public DatabaseOptions Database { get; set; } = new();

    /// <summary>Which database holds the data: the embedded SQLite file (default) or a shared PostgreSQL.</summary>
    public StoreOptions Store { get; set; } = new();

    public KeyOptions Keys { get; set; } = new();

    public MaintenanceOptions Maintenance { get; set; } = new();

    public PhoneOptions Phones { get; set; } = new();

    /// <summary>
    /// How many days back an order or membership purchase may be dated (<c>paid_at</c>): tills that were offline
    /// post late, but not forever. Default 30; 1 to <see cref="MaxLateOrderWindowDays"/> (a value outside is taken as the
    /// nearest bound).
    /// </summary>
    public int LateOrderWindowDays { get; set; } = 30;

    /// <summary>Ten years: every date the window admits is one the service can compute with.</summary>
    public const int MaxLateOrderWindowDays = 3650;

    public TimeSpan LateOrderWindow => TimeSpan.FromDays(Math.Clamp(LateOrderWindowDays, 1, MaxLateOrderWindowDays));

    /// <summary>The SQLite file: <c>Database:Path</c>, else the data source of a SQLite <c>Store:ConnectionString</c>, else under the data directory.</summary>
    public string DatabasePath => Database.Path
        ?? (Store is { Provider: StoreProvider.Sqlite, ConnectionString: { Length: > 0 } connection }
            ? new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(connection).DataSource : null)
        ?? System.IO.Path.Combine(DataDirectory, "identity.db");
}

public sealed class DatabaseOptions
{
    /// <summary>The SQLite file; default <c>{DataDirectory}/identity.db</c>.</summary>
    public string? Path { get; set; }

    /// <summary>How long a statement waits for another process's write lock before failing.</summary>
    public int BusyTimeoutSeconds { get; set; } = 30;

    /// <summary>How often the write-ahead log is copied into the database in the background (<see cref="Storage.SqliteCheckpointer"/>); 0 = only by the writer.</summary>
    public int CheckpointIntervalMilliseconds { get; set; } = 1000;
}

public sealed class KeyOptions
{
    /// <summary>Base64 of 32 random bytes: the AES-256-GCM key that encrypts phones.</summary>
    public string? PhoneEncryptionKey { get; set; }

    /// <summary>Base64 of 32 random bytes: the HMAC-SHA256 key of the phone blind index.</summary>
    public string? PhoneIndexKey { get; set; }
}

public sealed class MaintenanceOptions
{
    /// <summary>How often points expiry and tier assessment run; 0 turns the schedule off (RunMaintenance still works).</summary>
    public int IntervalMinutes { get; set; } = 60;

    /// <summary>Delay before the first scheduled run after start.</summary>
    public int FirstRunDelaySeconds { get; set; } = 60;

    /// <summary>How often an instance picks up a program published by another instance.</summary>
    public int ProgramRefreshSeconds { get; set; } = 5;

    /// <summary>Audit rows older than this are removed by maintenance.</summary>
    public int AuditRetentionDays { get; set; } = 400;
}
