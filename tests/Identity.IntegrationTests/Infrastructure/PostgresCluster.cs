using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Identity.IntegrationTests.Infrastructure;

/// <summary>
/// One private PostgreSQL cluster per test run: initdb into a temporary folder owned by <c>postgres</c> (initdb refuses
/// root), started on a free loopback port, stopped and deleted when the run ends (also when it fails). Tuned for tests
/// only: small buffers, no fsync. Each test server gets its own database, so tests stay isolated.
/// </summary>
public sealed class PostgresCluster
{
    static readonly Lazy<PostgresCluster> shared = new(Start, LazyThreadSafetyMode.ExecutionAndPublication);

    readonly string directory;
    readonly string bin;

    PostgresCluster(string directory, string bin, int port)
    {
        this.directory = directory;
        this.bin = bin;
        Port = port;
    }

    /// <summary>The run's cluster, started on first use.</summary>
    public static PostgresCluster Shared => shared.Value;

    public int Port { get; }

    /// <summary>Connection string for <paramref name="database"/> as the cluster's superuser <c>identity</c>.</summary>
    public string ConnectionString(string database, int maxPoolSize = 30) =>
        $"Host=127.0.0.1;Port={Port};Username=identity;Database={database};Maximum Pool Size={maxPoolSize};Include Error Detail=true";

    /// <summary>Creates <paramref name="name"/> unless it exists (a server restarted on the same data) and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string name)
    {
        await using var connection = new NpgsqlConnection(ConnectionString("postgres", 5));
        await connection.OpenAsync();
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = $1", connection) { Parameters = { new() { Value = name } } };
        if (await exists.ExecuteScalarAsync() is null)
        {
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await create.ExecuteNonQueryAsync();
        }
        return ConnectionString(name);
    }

    /// <summary>Drops a test server's database (its connections first), so the run does not pile them up.</summary>
    public async Task DropDatabaseAsync(string name)
    {
        NpgsqlConnection.ClearPool(new NpgsqlConnection(ConnectionString(name)));
        await using var connection = new NpgsqlConnection(ConnectionString("postgres", 5));
        await connection.OpenAsync();
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", connection);
        await drop.ExecuteNonQueryAsync();
    }

    static PostgresCluster Start()
    {
        var bin = FindBin();
        RemoveStale();
        var asRoot = Environment.UserName == "root";
        var directory = Path.Combine(Path.GetTempPath(), "identity-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        if (asRoot)
            Run("chown", ["postgres:postgres", directory]);
        var data = Path.Combine(directory, "data");
        Run(asRoot, Path.Combine(bin, "initdb"), ["-D", data, "-A", "trust", "-U", "identity", "--no-sync", "-E", "UTF8", "--locale=C"]);
        var port = FreePort();
        var cluster = new PostgresCluster(directory, bin, port);
        // Stopped however the run ends; a cluster left running would hold its port and folder.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => cluster.Stop();
        Run(asRoot, Path.Combine(bin, "pg_ctl"), ["-D", data, "-l", Path.Combine(directory, "server.log"), "-w", "-t", "60", "-o",
            $"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c shared_buffers=32MB -c fsync=off -c synchronous_commit=off " +
            "-c full_page_writes=off -c max_connections=400 -c max_locks_per_transaction=256", "start"]);
        return cluster;
    }

    /// <summary>
    /// Stops the cluster and removes its folder in one shell that outlives this process: the test host may be ended as
    /// soon as its exit handlers start, and a half-finished clean-up would leave the folder behind.
    /// </summary>
    void Stop()
    {
        var pgCtl = $"'{Path.Combine(bin, "pg_ctl")}' -D '{Path.Combine(directory, "data")}' -m immediate -w stop";
        if (Environment.UserName == "root")
            pgCtl = "runuser -u postgres -- " + pgCtl;
        var start = new ProcessStartInfo("sh", ["-c", $"{pgCtl} >/dev/null 2>&1; rm -rf '{directory}'"]) { WorkingDirectory = "/" };
        using var process = Process.Start(start);
        process?.WaitForExit(10_000);
    }

    /// <summary>Folders of earlier runs whose server is gone (a run that was killed): removed before a new cluster starts.</summary>
    static void RemoveStale()
    {
        foreach (var stale in Directory.GetDirectories(Path.GetTempPath(), "identity-pg-*"))
        {
            // A running server, or a folder a concurrent run is just setting up, is left alone.
            if (File.Exists(Path.Combine(stale, "data", "postmaster.pid")) || Directory.GetLastWriteTimeUtc(stale) > DateTime.UtcNow.AddMinutes(-10))
                continue;
            try
            {
                Directory.Delete(stale, recursive: true);
            }
            catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary>The newest installed server's binaries (<c>/usr/lib/postgresql/&lt;v&gt;/bin</c>), else whatever is on PATH.</summary>
    static string FindBin()
    {
        const string root = "/usr/lib/postgresql";
        var installed = Directory.Exists(root)
            ? Directory.GetDirectories(root).Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0).FirstOrDefault()
            : null;
        return installed ?? (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")))
            ?? throw new InvalidOperationException("PostgreSQL is not installed (no initdb under /usr/lib/postgresql/*/bin or on PATH).");
    }

    static void Run(bool asPostgres, string program, string[] args) =>
        Run(asPostgres ? "runuser" : program, asPostgres ? ["-u", "postgres", "--", program, .. args] : args);

    static void Run(string program, string[] args)
    {
        var start = new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/" };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(120_000))
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} did not finish.");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({process.ExitCode}): {output.Result}{error.Result}");
    }

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
