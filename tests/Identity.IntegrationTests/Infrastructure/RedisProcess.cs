using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Identity.IntegrationTests.Infrastructure;

/// <summary>A real redis-server on a free loopback port, owned by the test: started, killed and restarted at will.</summary>
public sealed class RedisProcess : IAsyncDisposable
{
    Process? process;

    RedisProcess(int port) => Port = port;

    public int Port { get; }

    public string Configuration => $"127.0.0.1:{Port}";

    public static async Task<RedisProcess> StartAsync()
    {
        var redis = new RedisProcess(FreePort());
        await redis.RestartAsync();
        return redis;
    }

    public async Task RestartAsync()
    {
        var start = new ProcessStartInfo("redis-server",
            ["--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                "--enable-debug-command", "yes"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start (is it installed?)");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50);
            }
        }
        throw new TimeoutException($"redis-server did not listen on {Port}");
    }

    /// <summary>Freezes the process (SIGSTOP): connections stay open and nothing answers.</summary>
    public void Freeze() => Signal("STOP");

    /// <summary>Thaws a frozen process (SIGCONT).</summary>
    public void Thaw() => Signal("CONT");

    void Signal(string signal)
    {
        if (process is not { HasExited: false })
            return;
        using var kill = Process.Start("kill", ["-" + signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill?.WaitForExit(5000);
    }

    /// <summary>Kills the server at once (SIGKILL): the outage a cache must survive.</summary>
    public void Kill()
    {
        if (process is { HasExited: false })
        {
            process.Kill();
            process.WaitForExit(5000);
        }
        process?.Dispose();
        process = null;
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        return ValueTask.CompletedTask;
    }

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
