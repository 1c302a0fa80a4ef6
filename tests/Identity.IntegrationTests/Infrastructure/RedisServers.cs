using Identity.Service.Caching;

namespace Identity.IntegrationTests.Infrastructure;

/// <summary>
/// A test class's own redis-server and the Identity servers it starts on it (each connected before use), all stopped
/// when the class's tests end.
/// </summary>
public abstract class RedisServers : IAsyncLifetime
{
    protected RedisProcess Redis { get; private set; } = null!;

    readonly List<IdentityServer> servers = [];

    public async Task InitializeAsync() => Redis = await RedisProcess.StartAsync();

    public async Task DisposeAsync()
    {
        foreach (var server in servers)
            await server.DisposeAsync();
        await Redis.DisposeAsync();
    }

    /// <summary>A server on this Redis (and on <paramref name="dataDirectory"/>'s store when given), once connected to Redis.</summary>
    protected async Task<IdentityServer> StartAsync(string? dataDirectory = null, params string[] args)
    {
        var server = await IdentityServer.StartAsync(dataDirectory, [$"--Redis:Configuration={Redis.Configuration}", .. args]);
        servers.Add(server);
        await Eventually.TrueAsync(() => server.Service<RedisCache>().IsConnected, TimeSpan.FromSeconds(10), "the server did not connect to Redis");
        return server;
    }
}

/// <summary>Waits for a condition that becomes true by itself (a connection, an invalidation reaching another instance).</summary>
public static class Eventually
{
    /// <summary>Polls <paramref name="condition"/> every 20 ms; throws when it is still false after <paramref name="timeout"/> (10 s).</summary>
    public static async Task TrueAsync(Func<bool> condition, TimeSpan? timeout = null, string what = "condition not met in time")
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException(what);
            await Task.Delay(20);
        }
    }
}
