using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Identity.Service.Hosting;

/// <summary>
/// The three named Kestrel endpoints: <c>Grpc</c> (the gRPC API, h2c), <c>Http</c> (the same API as JSON over HTTP/1.1)
/// and <c>Management</c> (probes and metrics, never the API). Each is <c>Kestrel:Endpoints:&lt;Name&gt;:Url</c>; the
/// older <c>Urls</c> / <c>--urls</c> setting still names the gRPC endpoint's address.
/// </summary>
public static class Listeners
{
    public const string Grpc = "Grpc";
    public const string Http = "Http";
    public const string Management = "Management";

    public const string DefaultGrpcUrl = "http://127.0.0.1:5100";
    public const string DefaultHttpUrl = "http://127.0.0.1:5101";
    public const string DefaultManagementUrl = "http://127.0.0.1:5102";

    static readonly object NameKey = new();

    /// <summary>
    /// Fills in what the configuration leaves out: each endpoint's address and protocols. <c>urls</c> is the gRPC
    /// endpoint's address when <c>Kestrel:Endpoints:Grpc:Url</c> is not set, so a run with only the older setting keeps
    /// listening where it did (and now also on the two other defaults).
    /// </summary>
    public static void ApplyDefaults(ConfigurationManager configuration)
    {
        var endpoints = configuration.GetSection("Kestrel:Endpoints");
        foreach (var endpoint in endpoints.GetChildren())
        {
            if (endpoint.Key is not (Grpc or Http or Management))
                throw new InvalidOperationException(
                    $"Kestrel endpoint '{endpoint.Key}' is not one this server knows; name endpoints {Grpc}, {Http} or {Management}.");
        }

        var urls = configuration["urls"];
        string? grpcUrl = null;
        if (!string.IsNullOrWhiteSpace(urls))
        {
            var addresses = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (addresses.Length != 1)
                throw new InvalidOperationException(
                    $"Urls names {addresses.Length} addresses; it is the gRPC endpoint's one address (use Kestrel:Endpoints:<Name>:Url for the others).");
            grpcUrl = addresses[0];
        }

        var defaults = new Dictionary<string, string?>();
        void Default(string name, string? url, HttpProtocols protocols)
        {
            var section = endpoints.GetSection(name);
            if (string.IsNullOrEmpty(section["Url"]))
                defaults[$"Kestrel:Endpoints:{name}:Url"] = url;
            if (string.IsNullOrEmpty(section["Protocols"]))
                defaults[$"Kestrel:Endpoints:{name}:Protocols"] = protocols.ToString();
        }
        Default(Grpc, grpcUrl ?? DefaultGrpcUrl, HttpProtocols.Http2);
        Default(Http, DefaultHttpUrl, HttpProtocols.Http1);
        Default(Management, DefaultManagementUrl, HttpProtocols.Http1);
        // Consumed: left as it is, the host would also hand it to Kestrel, which warns that the named endpoints override it.
        // ";" names no address; an empty value would make the host fall back to the value it read at start.
        if (grpcUrl is not null)
            defaults["urls"] = ";";
        configuration.AddInMemoryCollection(defaults);
    }

    /// <summary>Marks every connection with the name of the endpoint it arrived on, for <see cref="ListenerRouting"/>.</summary>
    public static void Tag(KestrelServerOptions kestrel, IConfiguration configuration)
    {
        var addresses = kestrel.ApplicationServices.GetRequiredService<ListenerAddresses>();
        var loader = kestrel.Configure(configuration.GetSection("Kestrel"), reloadOnChange: false);
        foreach (var name in (string[])[Grpc, Http, Management])
        {
            loader.Endpoint(name, endpoint =>
            {
                addresses.Add(name, endpoint.ListenOptions);
                endpoint.ListenOptions.Use(next => connection =>
                {
                    connection.Items[NameKey] = name;
                    return next(connection);
                });
            });
        }
    }

    /// <summary>The endpoint a request arrived on; null when the server is not Kestrel with named endpoints.</summary>
    public static string? Of(HttpContext context) =>
        context.Features.Get<IConnectionItemsFeature>()?.Items.TryGetValue(NameKey, out var name) == true ? name as string : null;
}
