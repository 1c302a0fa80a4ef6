using Microsoft.AspNetCore.Grpc.JsonTranscoding;

namespace Identity.Service.Hosting;

/// <summary>
/// After routing, before authentication: a route answers only on its own endpoint — gRPC methods on Grpc, their JSON
/// form on Http, probes and metrics on Management — and is 404 elsewhere, before any key is checked or token taken.
/// </summary>
public sealed class ListenerRouting(RequestDelegate next)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint() is not { } endpoint)
            return next(context);
        var listener = Listeners.Of(context) ?? Listeners.Grpc;
        if (ListenerFor(endpoint) == listener)
            return next(context);
        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }

    static string ListenerFor(Endpoint endpoint) =>
        endpoint.Metadata.GetMetadata<ServedOn>()?.Listener
        ?? (endpoint.Metadata.GetMetadata<GrpcJsonTranscodingMetadata>() is not null ? Listeners.Http : Listeners.Grpc);
}
