using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;

namespace Identity.IntegrationTests.Storage;

/// <summary>
/// Group commit (SQLite) and member lanes (PostgreSQL) acknowledge a write only after the transaction holding it
/// committed. A server process killed with SIGKILL in the middle of concurrent orders of a few members (so that many
/// share transactions) must therefore come back with every acknowledged order recorded exactly once, and no order
/// half-written or doubled.
/// </summary>
public sealed class CrashDurabilityTests
{
    [Fact]
    public async Task Killing_the_server_during_concurrent_orders_loses_no_acknowledged_order_and_doubles_none()
    {
        var data = Path.Combine(Path.GetTempPath(), "identity-tests", Guid.NewGuid().ToString("N"));
        var paidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-1));
        var acknowledged = new ConcurrentDictionary<string, RecordOrderResponse>();
        var memberIds = new List<string>();

        using (var server = await ServerProcess.StartAsync(data))
        {
            foreach (var _ in Enumerable.Range(0, 4))
                memberIds.Add((await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(TestData.Phone()))).Member.MemberId);
            using var stop = new CancellationTokenSource();
            var workers = Enumerable.Range(0, 24).Select(w => Task.Run(async () =>
            {
                for (var n = 0; !stop.IsCancellationRequested; n++)
                {
                    var orderId = $"K-{w}-{n}";
                    try
                    {
                        var reply = await server.Loyalty.RecordOrderAsync(new RecordOrderRequest
                        {
                            Member = new MemberKey { MemberId = memberIds[w % memberIds.Count] }, Channel = Channel.Pos, OrderId = orderId,
                            StoreId = "S001", AmountFen = 10_000 + w, PaidAt = paidAt,
                        });
                        acknowledged[orderId] = reply;
                    }
                    catch (RpcException)
                    {
                        return; // the server is gone
                    }
                }
            })).ToList();
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (acknowledged.Count < 200 && DateTime.UtcNow < deadline)
                await Task.Delay(20);
            server.Kill(); // SIGKILL, with writes queued, running and committing
            await stop.CancelAsync();
            await Task.WhenAll(workers);
        }
        Assert.True(acknowledged.Count >= 200, $"only {acknowledged.Count} orders were acknowledged before the kill");

        // The store as it recovered (SQLite's file, or PostgreSQL after the connections died): every order once, with one
        // ledger entry and one idempotency key each, and nothing half-written.
        await using var restarted = await IdentityServer.StartAsync(data);
        var orders = restarted.Scalar("SELECT count(*) FROM orders");
        Assert.True(orders >= acknowledged.Count, $"{acknowledged.Count} orders were acknowledged, {orders} are stored");
        Assert.Equal(orders, restarted.Scalar("SELECT count(*) FROM points_entries WHERE \"Reference\" LIKE 'order:%'"));
        Assert.Equal(orders, restarted.Scalar("SELECT count(*) FROM idempotency_keys WHERE \"Scope\" = 'order'"));
        Assert.Equal(orders, restarted.Scalar("SELECT count(DISTINCT \"Reference\") FROM points_entries WHERE \"Reference\" LIKE 'order:%'"));
        Assert.Empty((await restarted.Loyalty.VerifyLedgerAsync(new VerifyLedgerRequest())).Problems);

        // Every acknowledged order was stored: sent again, it replays its first answer (a lost one would be recorded anew).
        var lost = new List<string>();
        foreach (var (orderId, first) in acknowledged)
        {
            var w = int.Parse(orderId.Split('-')[1], System.Globalization.CultureInfo.InvariantCulture);
            var again = await restarted.Loyalty.RecordOrderAsync(new RecordOrderRequest
            {
                Member = new MemberKey { MemberId = memberIds[w % memberIds.Count] }, Channel = Channel.Pos, OrderId = orderId, StoreId = "S001",
                AmountFen = 10_000 + w, PaidAt = paidAt,
            });
            if (!again.Replayed)
                lost.Add(orderId);
            else
                Assert.Equal(first.PointsEarned, again.PointsEarned);
        }
        Assert.True(lost.Count == 0, $"acknowledged but not stored: {string.Join(", ", lost.Take(10))}");
        Assert.Equal(orders, restarted.Scalar("SELECT count(*) FROM orders"));
    }

    /// <summary>The server as operators run it: its own process (<c>dotnet Identity.Service.dll</c>), killable with SIGKILL.</summary>
    sealed class ServerProcess : IDisposable
    {
        readonly Process process;
        readonly GrpcChannel channel;

        ServerProcess(Process process, GrpcChannel channel, string key)
        {
            this.process = process;
            this.channel = channel;
            Key = key;
            var invoker = channel.Intercept(metadata =>
            {
                metadata.Add("authorization", "Bearer " + key);
                return metadata;
            });
            Members = new MemberService.MemberServiceClient(invoker);
            Loyalty = new LoyaltyService.LoyaltyServiceClient(invoker);
        }

        public string Key { get; }
        public MemberService.MemberServiceClient Members { get; }
        public LoyaltyService.LoyaltyServiceClient Loyalty { get; }

        /// <summary>
        /// Starts the server on a free port. The port is free when picked, not when the server binds it: another process
        /// can take it in between, and then the server exits at once; it is started again on another port.
        /// </summary>
        public static async Task<ServerProcess> StartAsync(string dataDirectory)
        {
            for (var attempt = 1; ; attempt++)
            {
                var errors = new ConcurrentQueue<string>();
                if (await TryStartAsync(dataDirectory, errors) is { } started)
                    return started;
                var output = string.Join('\n', errors);
                if (attempt == 3 || !output.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
                    throw new InvalidOperationException($"The server process exited while starting:\n{output}");
            }
        }

        /// <summary>The started server, or null when its process exited first (its standard error in <paramref name="errors"/>).</summary>
        static async Task<ServerProcess?> TryStartAsync(string dataDirectory, ConcurrentQueue<string> errors)
        {
            var port = FreePort();
            var dll = ServiceAssembly();
            var start = new ProcessStartInfo("dotnet",
                [dll, "--urls", $"http://127.0.0.1:{port}", "--Kestrel:Endpoints:Http:Url=http://127.0.0.1:0",
                    "--Kestrel:Endpoints:Management:Url=http://127.0.0.1:0", $"--Identity:DataDirectory={dataDirectory}", "--Logging:LogLevel:Default=Warning",
                    .. await TestStore.ServerArgsAsync(dataDirectory)])
            {
                WorkingDirectory = Path.GetDirectoryName(dll)!,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            var process = Process.Start(start) ?? throw new InvalidOperationException("the server did not start");
            process.OutputDataReceived += (_, line) =>
            {
                if (line.Data is { } text)
                    errors.Enqueue(text); // Kestrel's bind failure is logged to standard output
            };
            process.ErrorDataReceived += (_, line) =>
            {
                if (line.Data is { } text)
                    errors.Enqueue(text);
            };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
            var deadline = DateTime.UtcNow.AddSeconds(90);
            while (true)
            {
                try
                {
                    var bootstrap = File.ReadAllText(Path.Combine(dataDirectory, "admin.key")).Trim();
                    if (bootstrap.Length == 0)
                        throw new IOException("the key file is there, its content not yet");
                    LogCapture.Keys.Add(bootstrap);
                    var admin = new AdminService.AdminServiceClient(channel.Intercept(m =>
                    {
                        m.Add("authorization", "Bearer " + bootstrap);
                        return m;
                    }));
                    var created = await admin.CreateClientAsync(new CreateClientRequest
                    {
                        Name = "crash-" + Guid.NewGuid().ToString("N")[..6], Role = ClientRole.Admin, RequestsPerSecond = 1_000_000,
                    });
                    LogCapture.Keys.Add(created.Key);
                    return new ServerProcess(process, channel, created.Key);
                }
                catch (Exception e) when (e is IOException or RpcException && DateTime.UtcNow < deadline)
                {
                    if (process.HasExited)
                    {
                        process.WaitForExit(); // the output read to its end
                        channel.Dispose();
                        process.Dispose();
                        return null;
                    }
                    await Task.Delay(200);
                }
            }
        }

        /// <summary>SIGKILL: no shutdown, no flush, no checkpoint.</summary>
        public void Kill()
        {
            if (!process.HasExited)
                process.Kill();
            process.WaitForExit(10_000);
        }

        public void Dispose()
        {
            Kill();
            channel.Dispose();
            process.Dispose();
        }

        /// <summary>The server's build output beside this test's (same configuration).</summary>
        static string ServiceAssembly()
        {
            var testOutput = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
            var framework = testOutput.Name;
            var configuration = testOutput.Parent!.Name;
            var root = testOutput;
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "Identity.sln")))
                root = root.Parent;
            if (root is null)
                throw new InvalidOperationException("The repository root (Identity.sln) is not above the test output.");
            var dll = Path.Combine(root.FullName, "src", "Identity.Service", "bin", configuration, framework, "Identity.Service.dll");
            return File.Exists(dll) ? dll : throw new InvalidOperationException($"Build the server first: {dll} is missing.");
        }

        static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}
