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
        BootstrapKey = File.ReadAllText(Path.Combine(dataDirectory, "admin.key")).Trim();
        LogCapture.Keys.Add(BootstrapKey);
        Admin = new AdminService.AdminServiceClient(WithKey(BootstrapKey));
    }

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
    public GrpcChannel Channel { get; }
    public MemberService.MemberServiceClient Members { get; private set; } = null!;
    public LoyaltyService.LoyaltyServiceClient Loyalty { get; private set; } = null!;

    public static Task<IdentityServer> StartAsync(string? dataDirectory = null, params string[] extraArgs) =>
        StartAsync(dataDirectory, clock: null, extraArgs);

    public static async Task<IdentityServer> StartAsync(string? dataDirectory, TimeProvider? clock, params string[] extraArgs)
    {
        dataDirectory ??= Path.Combine(Path.GetTempPath(), "identity-tests", Guid.NewGuid().ToString("N"));
        var logs = new LogCapture();
        string[] args = ["--urls", "http://127.0.0.1:0", $"--Identity:DataDirectory={dataDirectory}", .. await TestStore.ServerArgsAsync(dataDirectory),
            .. extraArgs];
        lock (databaseUsers)
            databaseUsers[dataDirectory] = databaseUsers.GetValueOrDefault(dataDirectory) + 1;
        var app = IdentityApp.Build(args, builder =>
        {
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Trace);
            builder.Logging.AddProvider(logs);
            if (clock is not null)
                builder.Services.AddSingleton(clock);
        });
        await app.StartAsync();
        var server = new IdentityServer(app, dataDirectory, logs, app.Urls.Single());
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
            using var pg = new Npgsql.NpgsqlConnection(PostgresCluster.Shared.ConnectionString(TestStore.DatabaseFor(DataDirectory)));
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

    public T Service<T>() where T : notnull => App.Services.GetRequiredService<T>();

    /// <summary>True when this server runs on PostgreSQL (the PostgreSQL pass, unless the test chose SQLite).</summary>
    public bool IsPostgres => Service<Identity.Service.Storage.IdentityStore>().IsPostgres;

    // Servers started on one data directory share its database; the last to stop drops it.
    static readonly Dictionary<string, int> databaseUsers = new(StringComparer.Ordinal);

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
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
