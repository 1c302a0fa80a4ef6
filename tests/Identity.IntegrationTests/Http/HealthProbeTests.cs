using System.Net;
using Grpc.Health.V1;
using Identity.Service.Caching;
using Identity.Service.Hosting;

namespace Identity.IntegrationTests.Http;

/// <summary>
/// /healthz and /readyz on the Management endpoint and grpc.health.v1 per service: unready while the store cannot be
/// opened, ready again once it can; Redis down is "Degraded" and still ready.
/// </summary>
public sealed class HealthProbeTests
{
    static async Task<(HttpStatusCode Status, string Body)> ProbeAsync(IdentityServer server, string path)
    {
        using var http = new HttpClient { BaseAddress = new Uri(server.ManagementAddress), Timeout = TimeSpan.FromSeconds(10) };
        using var response = await http.GetAsync(path);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    static async Task<HealthCheckResponse.Types.ServingStatus> GrpcHealthAsync(IdentityServer server, string service) =>
        (await new Health.HealthClient(server.Channel).CheckAsync(new HealthCheckRequest { Service = service })).Status;

    /// <summary>Runs <c>identity health --url …/readyz</c> (the container's HEALTHCHECK) and returns its exit code.</summary>
    static async Task<int> CliHealthAsync(IdentityServer server)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Identity.sln")))
            directory = directory.Parent;
        var cli = new[] { "Release", "Debug" }.Select(c => Path.Combine(directory!.FullName, "src", "Identity.Cli", "bin", c, "net10.0", "identity.dll"))
            .FirstOrDefault(File.Exists);
        Assert.True(cli is not null, "build the solution first: the CLI binary is missing");
        var start = new System.Diagnostics.ProcessStartInfo("dotnet", [cli, "health", "--url", server.ManagementAddress + "/readyz"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = System.Diagnostics.Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await Task.WhenAll(process.StandardOutput.ReadToEndAsync(timeout.Token), process.StandardError.ReadToEndAsync(timeout.Token));
        await process.WaitForExitAsync(timeout.Token);
        return process.ExitCode;
    }

    [SqliteFact("it moves the SQLite file away")]
    public async Task Readiness_fails_while_the_database_file_cannot_be_opened_and_returns_when_it_can()
    {
        await using var server = await IdentityServer.StartAsync();
        var live = await ProbeAsync(server, "/healthz");
        Assert.Equal(HttpStatusCode.OK, live.Status);
        var ready = await ProbeAsync(server, "/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.Status);
        Assert.Contains("\"status\":\"Healthy\"", ready.Body, StringComparison.Ordinal);
        foreach (var service in IdentityApp.ServedServices.Append(""))
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await GrpcHealthAsync(server, service));
        await Rpc.FailsWith(Grpc.Core.StatusCode.NotFound,
            new Health.HealthClient(server.Channel).CheckAsync(new HealthCheckRequest { Service = "identity.v1.NoSuchService" }));

        // The database file is replaced by a directory: nothing can open it, whatever the pool still holds.
        var aside = server.DatabasePath + ".aside";
        File.Move(server.DatabasePath, aside);
        Directory.CreateDirectory(server.DatabasePath);
        try
        {
            // One probe answers for a second: the next one sees the file gone.
            await Task.Delay(Identity.Service.Storage.DatabaseHealthCheck.ReuseMilliseconds + 100);
            var unready = await ProbeAsync(server, "/readyz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, unready.Status);
            Assert.Contains("\"status\":\"Unhealthy\"", unready.Body, StringComparison.Ordinal);
            Assert.Contains("database unreachable", unready.Body, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, (await ProbeAsync(server, "/healthz")).Status); // alive all the same
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, await GrpcHealthAsync(server, "identity.v1.MemberService"));
            Assert.Equal(1, await CliHealthAsync(server));
        }
        finally
        {
            Directory.Delete(server.DatabasePath);
            File.Move(aside, server.DatabasePath);
        }
        await Task.Delay(Identity.Service.Storage.DatabaseHealthCheck.ReuseMilliseconds + 100);
        Assert.Equal(HttpStatusCode.OK, (await ProbeAsync(server, "/readyz")).Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await GrpcHealthAsync(server, "identity.v1.LoyaltyService"));
        Assert.Equal(0, await CliHealthAsync(server));
    }

    [Fact]
    public async Task Redis_down_is_degraded_and_still_ready()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var server = await IdentityServer.StartAsync(null, $"--Redis:Configuration={redis.Configuration}");
        await Eventually.TrueAsync(() => server.Service<RedisCache>().IsConnected);
        Assert.Contains("\"status\":\"Healthy\"", (await ProbeAsync(server, "/readyz")).Body, StringComparison.Ordinal);

        redis.Kill();
        await Eventually.TrueAsync(() => !server.Service<RedisCache>().IsConnected);
        var degraded = await ProbeAsync(server, "/readyz");
        Assert.Equal(HttpStatusCode.OK, degraded.Status);
        Assert.Contains("\"status\":\"Degraded\"", degraded.Body, StringComparison.Ordinal);
        Assert.Contains("\"redis\":{\"status\":\"Degraded\"", degraded.Body, StringComparison.Ordinal);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, await GrpcHealthAsync(server, "identity.v1.MemberService"));
    }
}
