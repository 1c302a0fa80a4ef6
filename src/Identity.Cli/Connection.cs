using Grpc.Core;
using Grpc.Net.Client;
using Identity.V1;

namespace Identity.Cli;

/// <summary>One channel to the service for the lifetime of a command.</summary>
internal sealed class Connection : IDisposable
{
    private readonly GrpcChannel channel;
    private readonly TimeSpan timeout;

    public Connection(ConnectionSettings settings)
    {
        // An http:// address makes GrpcChannel speak HTTP/2 without TLS (h2c), which is what the service listens on.
        channel = GrpcChannel.ForAddress(settings.Server);
        timeout = settings.Timeout;
        Client = new MemberService.MemberServiceClient(channel);
        Loyalty = new LoyaltyService.LoyaltyServiceClient(channel);
    }

    public MemberService.MemberServiceClient Client { get; }

    public LoyaltyService.LoyaltyServiceClient Loyalty { get; }

    public CallOptions CallOptions(CancellationToken cancellationToken) =>
        new(deadline: DateTime.UtcNow + timeout, cancellationToken: cancellationToken);

    public void Dispose() => channel.Dispose();
}
