using System.Collections.Concurrent;
using Google.Protobuf.Reflection;

namespace Identity.Service.Telemetry;

/// <summary>The contract's method a request message belongs to, as gRPC names it (<c>/identity.v1.LoyaltyService/RecordOrder</c>).</summary>
public static class RpcNames
{
    static readonly ConcurrentDictionary<MessageDescriptor, string> byRequest = new();

    public static string Of(MessageDescriptor request) => byRequest.GetOrAdd(request, static d =>
        d.File.Services.SelectMany(s => s.Methods).FirstOrDefault(m => m.InputType == d) is { } method
            ? $"/{method.Service.FullName}/{method.Name}"
            : d.FullName);
}
