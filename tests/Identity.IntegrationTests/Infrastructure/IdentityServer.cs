using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Identity.Service.Hosting;
using Identity.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Identity.IntegrationTests.Infrastructure;

/// <summary>
/// A real server: the production pipeline on Kestrel, HTTP/2 cleartext on a free loopback port, a real SQLite file in a
/// temporary folder — or, on the PostgreSQL pass (<see cref="TestStore"/>), a database of its own on the run's cluster.
/// Every log line it writes is captured for the privacy tests.
/// </summary>
public sealed class IdentityServer : IAsyncDisposable
{
    IdentityServer(WebApplication app, string dataDirectory, LogCapture logs, string address)
    {
        App = app;
        DataDirectory = dataDirectory;
        Logs = logs;
        Address = address;
        Channel = GrpcChannel.ForAddress(address);
        BootstrapKey = ReadBootstrapKey(Path.Combine(dataDirectory, "admin.key"));
        LogCapture.Keys.Add(BootstrapKey);
        Admin = new AdminService.AdminServiceClient(WithKey(BootstrapKey));
        Metrics = new MetricTotals(app.Services.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
    }

    /// <summary>The key the first start writes; the file can be there a moment before its content is.</summary>
    static string ReadBootstrapKey(string path)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var key = File.Exists(path) ? File.ReadAllText(path).Trim() : "";
            if (key.Length > 0 || DateTime.UtcNow > deadline)
                return key.Length > 0 ? key : throw new InvalidOperationException($"The server wrote no admin key to {path}.");
            Thread.Sleep(20);
        }
    }

    /// <summary>This server's identity.* instruments, read as they are recorded.</summary>
    public MetricTotals Metrics { get; }

    /// <summary>AdminService, called with the bootstrap key.</summary>
    public AdminService.AdminServiceClient Admin { get; }

    /// <summary>The key the first start wrote to the data directory.</summary>
    public string BootstrapKey { get; }

    /// <summary>The admin client the tests use by default: no practical rate limit.</summary>
    public string TestKey { get; private set; } = "";

    public CallInvoker WithKey(string key) => Channel.Intercept(metadata =>
    {
        metadata.Add("authorization", "Bearer " + key);
        return metadata;
    });

    public MemberService.MemberServiceClient MembersAs(string key) => new(WithKey(key));

    public LoyaltyService.LoyaltyServiceClient LoyaltyAs(string key) => new(WithKey(key));

    /// <summary>Registers a client and returns its key.</summary>
    public async Task<string> CreateClientAsync(string name, ClientRole role, Identity.V1.Channel channel = Identity.V1.Channel.Unspecified, int requestsPerSecond = 0,
        params string[] stores)
    {
        var request = new CreateClientRequest { Name = name + "-" + Guid.NewGuid().ToString("N")[..6], Role = role, Channel = channel, RequestsPerSecond = requestsPerSecond };
        request.Stores.AddRange(stores);
        var key = (await Admin.CreateClientAsync(request)).Key;
        LogCapture.Keys.Add(key);
        return key;
    }

    public WebApplication App { get; }
    public string DataDirectory { get; }
    public string DatabasePath => Path.Combine(DataDirectory, "identity.db");
    public LogCapture Logs { get; }
    public string Address { get; }

    /// <summary>The Http endpoint (JSON over HTTP/1.1).</summary>
    public string HttpAddress => Service<ListenerAddresses>().Url(Listeners.Http)!;

    /// <summary>The Management endpoint (probes).</summary>
    public string ManagementAddress => Service<ListenerAddresses>().Url(Listeners.Management)!;
    public GrpcChannel Channel { get; }
    public MemberService.MemberServiceClient Members { get; private set; } = null!;
    public LoyaltyService.LoyaltyServiceClient Loyalty { get; private set; } = null!;

    public static Task<IdentityServer> StartAsync(string? dataDirectory = null, params string[] extraArgs) =>
        StartAsync(dataDirectory, clock: null, extraArgs);

    public static Task<IdentityServer> StartAsync(string? dataDirectory, TimeProvider? clock, params string[] extraArgs) =>
        StartAsync(dataDirectory, clock, configure: null, extraArgs);

    /// <summary>As above; <paramref name="configure"/> runs last on the builder (a test's own services, e.g. a trace exporter).</summary>
    public static async Task<IdentityServer> StartAsync(string? dataDirectory, TimeProvider? clock, Action<WebApplicationBuilder>? configure,
        params string[] extraArgs)
    {
        dataDirectory ??= Path.Combine(Path.GetTempPath(), "identity-tests", Guid.NewGuid().ToString("N"));
        var logs = new LogCapture();
        string[] args = ["--urls", "http://127.0.0.1:0", "--Kestrel:Endpoints:Http:Url=http://127.0.0.1:0",
            "--Kestrel:Endpoints:Management:Url=http://127.0.0.1:0", $"--Identity:DataDirectory={dataDirectory}",
            .. await TestStore.ServerArgsAsync(dataDirectory), .. extraArgs];
        lock (databaseUsers)
            databaseUsers[dataDirectory] = databaseUsers.GetValueOrDefault(dataDirectory) + 1;
        var app = IdentityApp.Build(args, builder =>
        {
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Trace);
            builder.Logging.AddProvider(logs);
            if (clock is not null)
                builder.Services.AddSingleton(clock);
            configure?.Invoke(builder);
        });
        await app.StartAsync();
        var server = new IdentityServer(app, dataDirectory, logs, app.Services.GetRequiredService<ListenerAddresses>().Url(Listeners.Grpc)!);
        server.TestKey = await server.CreateClientAsync("tests", ClientRole.Admin, requestsPerSecond: 1_000_000);
        server.Members = server.MembersAs(server.TestKey);
        server.Loyalty = server.LoyaltyAs(server.TestKey);
        return server;
    }

    /// <summary>Counts rows straight from the database file, bypassing the service.</summary>
    public long Count(string table)
    {
        if (IsPostgres)
        {
            // Its own connection, not the pool's: a fault test may have cut every pooled one.
            using var pg = new Npgsql.NpgsqlConnection(new Npgsql.NpgsqlConnectionStringBuilder(StoreConnectionString) { Pooling = false }.ConnectionString);
            pg.Open();
            using var query = pg.CreateCommand();
            query.CommandText = $"SELECT COUNT(*) FROM \"{table}\"";
            return (long)query.ExecuteScalar()!;
        }
        using var connection = new SqliteConnection($"Data Source={DatabasePath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM \"{table}\"";
        return (long)command.ExecuteScalar()!;
    }

    /// <summary>One value straight from the database (SQLite file or PostgreSQL), bypassing the service; <c>@id</c> is <paramref name="id"/>.</summary>
    public long Scalar(string sql, string? id = null)
    {
        using System.Data.Common.DbConnection connection = IsPostgres
            ? new Npgsql.NpgsqlConnection(StoreConnectionString)
            : new SqliteConnection($"Data Source={DatabasePath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        if (id is not null)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = "id";
            parameter.Value = id;
            command.Parameters.Add(parameter);
        }
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Everything the store holds, for scans that no secret is stored: on SQLite the bytes of the database files; on
    /// PostgreSQL every live row of every table as JSON text, plus the raw bytes of every binary value (old row versions
    /// and the WAL are PostgreSQL's to overwrite: docs/privacy.md).
    /// </summary>
    public IReadOnlyList<(string Where, byte[] Bytes)> StoredContents()
    {
        if (!IsPostgres)
            return Directory.GetFiles(DataDirectory, "identity.db*").Select(path => (Path.GetFileName(path), ReadShared(path))).ToList();
        using var connection = new Npgsql.NpgsqlConnection(StoreConnectionString);
        connection.Open();
        var columns = new List<(string Table, string Column, string Type)>();
        using (var command = new Npgsql.NpgsqlCommand(
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public'", connection))
        using (var reader = command.ExecuteReader())
            while (reader.Read())
                columns.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));
        var contents = new List<(string, byte[])>();
        foreach (var table in columns.Select(c => c.Table).Distinct())
        {
            using var rows = new Npgsql.NpgsqlCommand($"SELECT coalesce(string_agg(row_to_json(t)::text, E'\\n'), '') FROM \"{table}\" t", connection);
            contents.Add((table, System.Text.Encoding.UTF8.GetBytes((string)rows.ExecuteScalar()!)));
        }
        foreach (var (table, column, _) in columns.Where(c => c.Type == "bytea"))
        {
            using var values = new Npgsql.NpgsqlCommand($"SELECT \"{column}\" FROM \"{table}\" WHERE \"{column}\" IS NOT NULL", connection);
            using var reader = values.ExecuteReader();
            while (reader.Read())
                contents.Add(($"{table}.{column}", (byte[])reader.GetValue(0)));
        }
        return contents;
    }

    /// <summary>A file SQLite may be writing or removing (-wal and -shm go when its last connection closes).</summary>
    static byte[] ReadShared(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return copy.ToArray();
        }
        catch (FileNotFoundException)
        {
            return [];
        }
    }

    public T Service<T>() where T : notnull => App.Services.GetRequiredService<T>();

    /// <summary>The server's PostgreSQL connection string.</summary>
    public string StoreConnectionString => Service<Microsoft.Extensions.Options.IOptions<IdentityOptions>>().Value.Store.ConnectionString!;

    /// <summary>True when this server runs on PostgreSQL (the PostgreSQL pass, unless the test chose SQLite).</summary>
    public bool IsPostgres => Service<Identity.Service.Storage.IdentityStore>().IsPostgres;

    // Servers started on one data directory share its database; the last to stop drops it.
    static readonly Dictionary<string, int> databaseUsers = new(StringComparer.Ordinal);

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        Metrics.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        // Every server of the run is searched when it stops: a leak fails the test (or class) that owned it.
        var leaks = LogRedaction.Find(Logs.Lines);
        if (leaks.Count > 0)
            throw new InvalidOperationException("The server's logs carry personal data or keys: " + string.Join(", ", leaks));
        SqliteConnection.ClearAllPools();
        bool last;
        lock (databaseUsers)
        {
            last = (databaseUsers[DataDirectory] -= 1) == 0;
            if (last)
                databaseUsers.Remove(DataDirectory);
        }
        if (TestStore.IsPostgres && last)
            await PostgresCluster.Shared.DropDatabaseAsync(TestStore.DatabaseFor(DataDirectory));
        try
        {
            Directory.Delete(DataDirectory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>One server per test class: tests in a class use distinct phones and ids, so they do not interfere.</summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public IdentityServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await IdentityServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
