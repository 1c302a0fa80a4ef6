using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Identity.IntegrationTests.Infrastructure;

namespace Identity.IntegrationTests.Import;

/// <summary>
/// The server as a separate process on a data directory, so that a test can kill it outright (SIGKILL: no shutdown,
/// no flush) and start it again on the same files.
/// </summary>
public sealed class ServerProcess : IAsyncDisposable
{
    readonly Process process;

    ServerProcess(Process process, string address, string dataDirectory)
    {
        this.process = process;
        Channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { MaxReceiveMessageSize = 16 * 1024 * 1024 });
        var key = File.ReadAllText(Path.Combine(dataDirectory, "admin.key")).Trim();
        LogCapture.Keys.Add(key);
        Admin = Channel.Intercept(metadata =>
        {
            metadata.Add("authorization", "Bearer " + key);
            return metadata;
        });
    }

    public GrpcChannel Channel { get; }

    /// <summary>Calls with the bootstrap admin key.</summary>
    public CallInvoker Admin { get; }

    public static async Task<ServerProcess> StartAsync(string dataDirectory)
    {
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "Identity.Service.dll"), "--urls", $"http://127.0.0.1:{port}", $"--Identity:DataDirectory={dataDirectory}",
                // Free ports for the other listeners too, so that servers of parallel tests never collide on the defaults.
                "--Kestrel:Endpoints:Http:Url=http://127.0.0.1:0", "--Kestrel:Endpoints:Management:Url=http://127.0.0.1:0" },
            WorkingDirectory = AppContext.BaseDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in await TestStore.ServerArgsAsync(dataDirectory))
            start.ArgumentList.Add(argument);
        var process = Process.Start(start) ?? throw new InvalidOperationException("The server process did not start.");
        // Drain its output so that it never blocks on a full pipe.
        process.OutputDataReceived += (_, _) => { };
        var errors = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.ErrorDataReceived += (_, line) =>
        {
            // The last lines say why a server that exited did not start.
            if (line.Data is { } text && errors.Count < 40)
                errors.Enqueue(text);
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var address = $"http://127.0.0.1:{port}";
        using var probe = GrpcChannel.ForAddress(address);
        var health = new Health.HealthClient(probe);
        var until = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            try
            {
                var reply = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
                if (reply.Status == HealthCheckResponse.Types.ServingStatus.Serving)
                    break;
            }
            catch (RpcException) when (DateTime.UtcNow < until)
            {
            }
            if (process.HasExited || DateTime.UtcNow >= until)
                throw new InvalidOperationException($"The server process did not become SERVING (exited: {process.HasExited}): {string.Join('\n', errors)}");
            await Task.Delay(200);
        }
        return new ServerProcess(process, address, dataDirectory);
    }

    /// <summary>SIGKILL: the process ends at once, mid-transaction if it is in one.</summary>
    public void Kill()
    {
        process.Kill(entireProcessTree: true);
        process.WaitForExit();
    }

    public ValueTask DisposeAsync()
    {
        Channel.Dispose();
        if (!process.HasExited)
            Kill();
        process.Dispose();
        return ValueTask.CompletedTask;
    }

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
