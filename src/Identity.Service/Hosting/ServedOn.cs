namespace Identity.Service.Hosting;

/// <summary>
/// Endpoint metadata: the listener a route answers on. Routes without it are the gRPC API's (the Grpc endpoint); JSON
/// transcoded routes answer on the Http endpoint.
/// </summary>
public sealed record ServedOn(string Listener);
