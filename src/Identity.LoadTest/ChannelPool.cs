using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Health.V1;
using Grpc.Net.Client;
using Identity.V1;

namespace Identity.LoadTest;

/// <summary>
/// Several HTTP/2 connections to the server: one <see cref="GrpcChannel"/> per connection, each with its own
/// <see cref="SocketsHttpHandler"/>, and calls spread over them round-robin. With a client key, every member and
/// loyalty call carries <c>authorization: Bearer &lt;key&gt;</c>; the health check never does (it is open).
/// </summary>
internal sealed class ChannelPool : IDisposable
{
    private readonly GrpcChannel[] channels;
    private readonly MemberService.MemberServiceClient[] members;
    private readonly LoyaltyService.LoyaltyServiceClient[] loyalty;
    private readonly Health.HealthClient[] health;
    private readonly MemberService.MemberServiceClient[] anonymous;
    private int next = -1;

    public ChannelPool(Uri server, int connections, string? key = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(connections, 1);
        channels = new GrpcChannel[connections];
        for (var i = 0; i < connections; i++)
        {
            // An http:// address makes the channel speak HTTP/2 without TLS (h2c), which is what the server listens on.
            // EnableMultipleHttp2Connections lets a channel open a second connection instead of queueing calls when
            // the server's stream limit (100 in Kestrel) is reached.
            channels[i] = GrpcChannel.ForAddress(server, new GrpcChannelOptions
            {
                HttpHandler = new SocketsHttpHandler
                {
                    EnableMultipleHttp2Connections = true,
                    PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                    ConnectTimeout = TimeSpan.FromSeconds(5),
                },
                MaxReceiveMessageSize = 4 * 1024 * 1024,
            });
        }
        var invokers = channels.Select(channel => Authorized(channel, key)).ToArray();
        Invoker = invokers[0];
        members = [.. invokers.Select(invoker => new MemberService.MemberServiceClient(invoker))];
        loyalty = [.. invokers.Select(invoker => new LoyaltyService.LoyaltyServiceClient(invoker))];
        health = [.. channels.Select(channel => new Health.HealthClient(channel))];
        anonymous = [.. channels.Select(channel => new MemberService.MemberServiceClient(channel))];
    }

    public int Count => channels.Length;

    /// <summary>The first connection, with the client key: for services the pool has no clients of (ImportService).</summary>
    public CallInvoker Invoker { get; }

    public MemberService.MemberServiceClient Members => members[NextIndex()];

    public LoyaltyService.LoyaltyServiceClient Loyalty => loyalty[NextIndex()];

    public Health.HealthClient Health => health[NextIndex()];

    /// <summary>MemberService without the client key: for the unauthenticated scenario, which sends keys of its own.</summary>
    public MemberService.MemberServiceClient Anonymous => anonymous[NextIndex()];

    /// <summary>Opens every connection before the load starts; best effort (the warm-up covers what this misses).</summary>
    public async Task ConnectAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await Task.WhenAll(channels.Select(channel => channel.ConnectAsync(limit.Token)));
        }
        catch (Exception ex) when (ex is OperationCanceledException or InvalidOperationException && !cancellationToken.IsCancellationRequested)
        {
            // Not connected yet: the first calls will connect, inside the warm-up.
        }
    }

    public void Dispose()
    {
        foreach (var channel in channels)
        {
            channel.Dispose();
        }
    }

    private static CallInvoker Authorized(GrpcChannel channel, string? key)
    {
        if (key is null)
        {
            return channel.CreateCallInvoker();
        }
        var value = $"Bearer {key}";
        return channel.Intercept(headers =>
        {
            headers.Add("authorization", value);
            return headers;
        });
    }

    private int NextIndex() => (int)((uint)Interlocked.Increment(ref next) % (uint)channels.Length);
}
