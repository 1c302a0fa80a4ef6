using Grpc.Core;

namespace Identity.Service.Security;

/// <summary>The authenticated caller of a gRPC call, as set by <see cref="ApiKeyAuthentication"/>.</summary>
public static class CallerAccess
{
    public static Caller Caller(this ServerCallContext context) =>
        context.GetHttpContext().Features.Get<Caller>() ?? throw new InvalidOperationException("The call was not authenticated.");
}
