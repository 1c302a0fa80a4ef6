using System.Security.Cryptography;
using System.Text;

namespace Identity.IntegrationTests.Infrastructure;

/// <summary>
/// The store the suite runs on: SQLite files by default, a private PostgreSQL cluster with
/// <c>IDENTITY_TEST_STORE=Postgres</c> (tests/run.sh runs the suite once on each).
/// </summary>
public static class TestStore
{
    public static bool IsPostgres { get; } =
        string.Equals(Environment.GetEnvironmentVariable("IDENTITY_TEST_STORE"), "Postgres", StringComparison.OrdinalIgnoreCase);

    /// <summary>The skip reason for a test about the SQLite file itself, on the PostgreSQL pass.</summary>
    public static string? SqliteOnly(string why) => IsPostgres ? "SQLite only: " + why : null;

    /// <summary>The skip reason for a test that needs several instances on one PostgreSQL, on the SQLite pass.</summary>
    public static string? PostgresOnly(string why) => IsPostgres ? null : "PostgreSQL pass only (IDENTITY_TEST_STORE=Postgres): " + why;

    /// <summary>The PostgreSQL database of a data directory: the same folder (a restarted server) finds the same database.</summary>
    public static string DatabaseFor(string dataDirectory) =>
        "t_" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(dataDirectory))))[..20];

    /// <summary>Phone keys every PostgreSQL test instance shares (instances on one database must).</summary>
    public static readonly string PhoneEncryptionKey = Convert.ToBase64String(SHA256.HashData("identity tests: phone encryption"u8));

    public static readonly string PhoneIndexKey = Convert.ToBase64String(SHA256.HashData("identity tests: phone index"u8));

    /// <summary>Server arguments that put a server on PostgreSQL (empty on the SQLite pass); the test's own arguments come after and win.</summary>
    public static async Task<string[]> ServerArgsAsync(string dataDirectory)
    {
        if (!IsPostgres)
            return [];
        var connection = await PostgresCluster.Shared.CreateDatabaseAsync(DatabaseFor(dataDirectory));
        return
        [
            "--Identity:Store:Provider=Postgres", $"--Identity:Store:ConnectionString={connection}",
            $"--Identity:Keys:PhoneEncryptionKey={PhoneEncryptionKey}", $"--Identity:Keys:PhoneIndexKey={PhoneIndexKey}",
        ];
    }
}
