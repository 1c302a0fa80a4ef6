using System.Collections.Concurrent;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Identity.Service.Hosting;

/// <summary>Where each named endpoint is bound once the server has started (port 0 becomes the port it got).</summary>
public sealed class ListenerAddresses
{
    readonly ConcurrentDictionary<string, ListenOptions> endpoints = new(StringComparer.Ordinal);

    internal void Add(string name, ListenOptions options) => endpoints[name] = options;

    /// <summary>The endpoint's address, e.g. <c>http://127.0.0.1:5101</c>; null when it is not configured.</summary>
    public string? Url(string name) =>
        endpoints.TryGetValue(name, out var options) && options.IPEndPoint is { } bound
            ? $"http://{(bound.Address.Equals(System.Net.IPAddress.IPv6Any) || bound.Address.Equals(System.Net.IPAddress.Any) ? "127.0.0.1" : bound.Address.ToString())}:{bound.Port}"
            : null;
}
