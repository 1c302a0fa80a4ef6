namespace Identity.Service.Hosting;

/// <summary>The one way to put a route on the Management endpoint (probes, metrics): anywhere else it answers 404.</summary>
public static class ManagementRoutes
{
    static readonly ServedOn Management = new(Listeners.Management);

    public static TBuilder RequireManagementEndpoint<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(Management);

    /// <summary>A route group whose routes answer only on the Management endpoint.</summary>
    public static RouteGroupBuilder MapManagement(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGroup("").RequireManagementEndpoint();
}
