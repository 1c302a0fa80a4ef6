using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf.WellKnownTypes;
using Identity.Service.Errors;
using Identity.Service.Storage;
using Identity.V1;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Security;

/// <summary>An authenticated caller, as the access rules see it.</summary>
public sealed record Caller(string Id, string Name, ClientRole Role, IReadOnlySet<string> Stores, Channel Channel, int RequestsPerSecond);

/// <summary>
/// The client registry. Keys are 256 random bits, shown once; only their SHA-256 is stored. Authentication results
/// are cached for <see cref="CacheTtl"/>, so a key revoked through another instance is refused within that time (at once
/// through this one).
/// </summary>
public sealed class ClientRegistry(IdentityStore store, TimeProvider clock)
{
    public static readonly TimeSpan CacheTtl = TimeSpan.FromSeconds(5);
    const string KeyPrefix = "idk_";

    readonly ConcurrentDictionary<string, (Caller? Caller, DateTimeOffset Until)> cache = new(StringComparer.Ordinal);

    public async Task<Caller?> AuthenticateAsync(string key, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        if (cache.TryGetValue(key, out var cached) && cached.Until > now)
            return cached.Caller;
        var hash = Hash(key);
        var record = await store.ReadAsync((db, token) => db.Clients.FirstOrDefaultAsync(c => c.KeyHash == hash, token), ct);
        var caller = record is { RevokedAt: null } ? ToCaller(record) : null;
        if (cache.Count > 10_000)
            cache.Clear(); // unknown keys must not grow the cache without bound
        cache[key] = (caller, now + CacheTtl);
        return caller;
    }

    public Task<(ClientRecord Client, string Key)> CreateAsync(string name, ClientRole role, IReadOnlyList<string> stores, Channel channel,
        int requestsPerSecond, CancellationToken ct) =>
        store.WriteAsync(async (db, token) =>
        {
            if (await db.Clients.AnyAsync(c => c.Name == name && c.RevokedAt == null, token))
                IdentityException.ThrowAlreadyExists("CLIENT_NAME_TAKEN", $"An active client is already named '{name}'.");
            var key = KeyPrefix + Base64Url(RandomNumberGenerator.GetBytes(32));
            var record = new ClientRecord
            {
                Id = Guid.CreateVersion7().ToString("N"), Name = name, Role = (int)role,
                Stores = stores.Count == 0 ? null : string.Join(',', stores), Channel = (int)channel,
                RequestsPerSecond = requestsPerSecond, KeyHash = Hash(key), KeyPrefix = key[..(KeyPrefix.Length + 6)], CreatedAt = clock.GetUtcNow(),
            };
            db.Clients.Add(record);
            return (record, key);
        }, ct);

    public Task<IReadOnlyList<ClientRecord>> ListAsync(CancellationToken ct) =>
        store.ReadAsync<IReadOnlyList<ClientRecord>>(async (db, token) => await db.Clients.OrderBy(c => c.CreatedAt).ThenBy(c => c.Id).ToListAsync(token), ct);

    public async Task<ClientRecord> RevokeAsync(string clientId, CancellationToken ct)
    {
        var record = await store.WriteAsync(async (db, token) =>
        {
            var client = await db.Clients.FirstOrDefaultAsync(c => c.Id == clientId, token);
            if (client is null)
                IdentityException.ThrowNotFound("CLIENT_NOT_FOUND", $"Client {clientId} does not exist.");
            client.RevokedAt ??= clock.GetUtcNow();
            return client;
        }, ct);
        cache.Clear(); // refused at once through this instance
        return record;
    }

    /// <summary>Creates the first admin client when there is none, and returns its key; null when clients exist.</summary>
    public Task<string?> BootstrapAsync(CancellationToken ct) =>
        store.WriteAsync<string?>(async (db, token) =>
        {
            if (await db.Clients.AnyAsync(token))
                return null;
            var key = KeyPrefix + Base64Url(RandomNumberGenerator.GetBytes(32));
            db.Clients.Add(new ClientRecord
            {
                Id = Guid.CreateVersion7().ToString("N"), Name = "bootstrap-admin", Role = (int)ClientRole.Admin, KeyHash = Hash(key),
                KeyPrefix = key[..(KeyPrefix.Length + 6)], CreatedAt = clock.GetUtcNow(),
            });
            return key;
        }, ct);

    public static Client ToMessage(ClientRecord record)
    {
        var message = new Client
        {
            ClientId = record.Id, Name = record.Name, Role = (ClientRole)record.Role, Channel = (Channel)record.Channel,
            RequestsPerSecond = record.RequestsPerSecond, KeyPrefix = record.KeyPrefix, CreatedAt = Timestamp.FromDateTimeOffset(record.CreatedAt),
        };
        if (record.Stores is { } stores)
            message.Stores.AddRange(stores.Split(','));
        if (record.RevokedAt is { } revoked)
            message.RevokedAt = Timestamp.FromDateTimeOffset(revoked);
        return message;
    }

    static Caller ToCaller(ClientRecord record) => new(record.Id, record.Name, (ClientRole)record.Role,
        record.Stores is null ? new HashSet<string>() : record.Stores.Split(',').ToHashSet(StringComparer.Ordinal),
        (Channel)record.Channel, record.RequestsPerSecond);

    static byte[] Hash(string key) => SHA256.HashData(Encoding.UTF8.GetBytes(key));

    static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
