using System.Security.Cryptography;
using Google.Protobuf;

namespace Identity.Service.Storage;

/// <summary>
/// What an idempotent write is remembered under, and the fingerprint of the request it was made with.
/// <para>
/// The fingerprint is exactly what the caller sent: a hash of the request message's bytes, every field it set and none
/// it left absent. Server-filled defaults (a <c>paid_at</c> of now) and resolved values (the member a phone names
/// today) are never part of it, so a retry — after a merge, or a day later — replays.
/// </para>
/// </summary>
public sealed record IdempotencyKey(string Scope, string Key, byte[] Fingerprint)
{
    /// <summary>The RPC the request belongs to (a metric label when a repeat is replayed).</summary>
    public string Rpc { get; init; } = "";

    /// <summary>A business key shared by every client (an order or refund id of a channel): whoever reports it again replays.</summary>
    public static IdempotencyKey Business(string scope, string key, IMessage request) =>
        new(scope, key, FingerprintOf(request)) { Rpc = Telemetry.RpcNames.Of(request.Descriptor) };

    /// <summary>A request id chosen by one client (AIP-155): another client's same id is another operation.</summary>
    public static IdempotencyKey PerClient(string scope, string clientId, string requestId, IMessage request) =>
        new(scope, $"{clientId}/{requestId}", FingerprintOf(request)) { Rpc = Telemetry.RpcNames.Of(request.Descriptor) };

    public static byte[] FingerprintOf(IMessage request) => SHA256.HashData(request.ToByteArray());
}
