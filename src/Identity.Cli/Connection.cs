using Grpc.Core;
using Grpc.Core.Interceptors;
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
        // The key goes on every call as a header; without one the server answers UNAUTHENTICATED (see ErrorPrinter).
        var invoker = settings.Key.Value is { } key
            ? channel.Intercept(headers =>
            {
                headers.Add("authorization", $"Bearer {key}");
                return headers;
            })
            : channel.CreateCallInvoker();
        Client = new MemberService.MemberServiceClient(invoker);
        Loyalty = new LoyaltyService.LoyaltyServiceClient(invoker);
        Admin = new AdminService.AdminServiceClient(invoker);
        Partner = new PartnerService.PartnerServiceClient(invoker);
        Import = new ImportService.ImportServiceClient(invoker);
    }

    public MemberService.MemberServiceClient Client { get; }

    public LoyaltyService.LoyaltyServiceClient Loyalty { get; }

    public AdminService.AdminServiceClient Admin { get; }

    public PartnerService.PartnerServiceClient Partner { get; }

    public ImportService.ImportServiceClient Import { get; }

    public CallOptions CallOptions(CancellationToken cancellationToken) =>
        new(deadline: DateTime.UtcNow + timeout, cancellationToken: cancellationToken);

    public void Dispose() => channel.Dispose();
}
