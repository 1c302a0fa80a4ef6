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
/// temporary folder. Every log line it writes is captured for the privacy tests.
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
        Members = new MemberService.MemberServiceClient(Channel);
        Loyalty = new LoyaltyService.LoyaltyServiceClient(Channel);
    }

    public WebApplication App { get; }
    public string DataDirectory { get; }
    public string DatabasePath => Path.Combine(DataDirectory, "identity.db");
    public LogCapture Logs { get; }
    public string Address { get; }
    public GrpcChannel Channel { get; }
    public MemberService.MemberServiceClient Members { get; }
    public LoyaltyService.LoyaltyServiceClient Loyalty { get; }

    public static Task<IdentityServer> StartAsync(string? dataDirectory = null, params string[] extraArgs) =>
        StartAsync(dataDirectory, clock: null, extraArgs);

    public static async Task<IdentityServer> StartAsync(string? dataDirectory, TimeProvider? clock, params string[] extraArgs)
    {
        dataDirectory ??= Path.Combine(Path.GetTempPath(), "identity-tests", Guid.NewGuid().ToString("N"));
        var logs = new LogCapture();
        string[] args = ["--urls", "http://127.0.0.1:0", $"--Identity:DataDirectory={dataDirectory}", .. extraArgs];
        var app = IdentityApp.Build(args, builder =>
        {
            builder.Logging.ClearProviders();
            builder.Logging.SetMinimumLevel(LogLevel.Trace);
            builder.Logging.AddProvider(logs);
            if (clock is not null)
                builder.Services.AddSingleton(clock);
        });
        await app.StartAsync();
        return new IdentityServer(app, dataDirectory, logs, app.Urls.Single());
    }

    /// <summary>Counts rows straight from the database file, bypassing the service.</summary>
    public long Count(string table)
    {
        using var connection = new SqliteConnection($"Data Source={DatabasePath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT COUNT(*) FROM \"{table}\"";
        return (long)command.ExecuteScalar()!;
    }

    public T Service<T>() where T : notnull => App.Services.GetRequiredService<T>();

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        SqliteConnection.ClearAllPools();
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
