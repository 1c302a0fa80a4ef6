namespace Identity.IntegrationTests.Scaling;

/// <summary>Three server instances on one PostgreSQL database and one redis-server, as in production (PostgreSQL pass only).</summary>
public sealed class InstancesFixture : IAsyncLifetime
{
    RedisProcess? redis;

    public IReadOnlyList<IdentityServer> Servers { get; private set; } = [];

    public async Task InitializeAsync()
    {
        if (!TestStore.IsPostgres)
            return;
        redis = await RedisProcess.StartAsync();
        string[] args = [$"--Redis:Configuration={redis.Configuration}", "--Identity:Maintenance:ProgramRefreshSeconds=1"];
        // The first migrates the database and creates the bootstrap admin; the others find both done.
        var first = await IdentityServer.StartAsync(null, args);
        var others = await Task.WhenAll(IdentityServer.StartAsync(first.DataDirectory, args), IdentityServer.StartAsync(first.DataDirectory, args));
        Servers = [first, .. others];
    }

    public async Task DisposeAsync()
    {
        foreach (var server in Servers.Reverse())
            await server.DisposeAsync();
        if (redis is not null)
            await redis.DisposeAsync();
    }
}
