using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf.WellKnownTypes;
using Identity.Service.Errors;
using Identity.Service.Storage;
using Identity.Service.Telemetry;
using Identity.V1;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Security;

/// <summary>
/// The client registry. Keys are 256 random bits, shown once; only their SHA-256 is stored. Every instance keeps the
/// active clients in memory and reloads them at most <see cref="CacheTtl"/> apart, so a key revoked through another
/// instance is refused within that time (at once through this one). An unknown key is refused from memory: a flood of
/// made-up keys costs at most one store query per <see cref="UnknownKeyReload"/>, however many keys it tries.
/// </summary>
public sealed class ClientRegistry(IdentityStore store, TimeProvider clock, SecurityMetrics metrics)
{
    public static readonly TimeSpan CacheTtl = TimeSpan.FromSeconds(5);

    /// <summary>An unknown key may be a client created a moment ago through another instance: reload, but not more often.</summary>
    public static readonly TimeSpan UnknownKeyReload = TimeSpan.FromSeconds(1);

    const string KeyPrefix = "idk_";

    ActiveClients clients = ActiveClients.Empty;
    Task<ActiveClients>? reloading;
    int generation;
    readonly Lock reloadLock = new();

    public async ValueTask<Caller?> AuthenticateAsync(string key, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var current = clients;
        if (now - current.LoadedAt > CacheTtl)
            current = await ReloadOrKeepAsync(current, ct);
        if (current.Find(key) is { } caller)
            return caller;
        if (now - current.LoadedAt > UnknownKeyReload)
            return (await ReloadOrKeepAsync(current, ct)).Find(key);
        return null;
    }

    /// <summary>
    /// A fresh copy of the clients; while the store cannot be read (busy, disk trouble), the copy in hand keeps
    /// answering. With none in hand the store's fault goes to the caller (UNAVAILABLE, worth a retry).
    /// </summary>
    async Task<ActiveClients> ReloadOrKeepAsync(ActiveClients current, CancellationToken ct)
    {
        try
        {
            return await ReloadAsync(ct);
        }
        catch (Exception exception) when (exception is not OperationCanceledException && current != ActiveClients.Empty)
        {
            return current;
        }
    }

    /// <summary>One reload at a time; callers that arrive meanwhile share it.</summary>
    Task<ActiveClients> ReloadAsync(CancellationToken ct)
    {
        lock (reloadLock)
        {
            if (reloading is not { IsCompleted: false })
                reloading = LoadAsync();
            return reloading.WaitAsync(ct);
        }

        async Task<ActiveClients> LoadAsync()
        {
            var startedFor = Volatile.Read(ref generation);
            var startedAt = clock.GetUtcNow();
            // Counted (identity.clients.loads): refused keys must not add to it per call.
            metrics.ClientsLoaded();
            var records = await store.ReadAsync((db, token) => db.Clients.AsNoTracking().Where(c => c.RevokedAt == null).ToListAsync(token),
                CancellationToken.None);
            var loaded = new ActiveClients(records.ToDictionary(r => Convert.ToHexString(r.KeyHash), ToCaller, StringComparer.Ordinal), startedAt);
            // A create or revoke that committed while this load ran must not be undone by it.
            if (startedFor == Volatile.Read(ref generation))
                clients = loaded;
            return loaded;
        }
    }

    /// <summary>Drops what this instance knows, so the next call reloads the clients.</summary>
    void Forget()
    {
        Interlocked.Increment(ref generation);
        clients = ActiveClients.Empty;
    }

    /// <summary>The active clients by key hash, and the keys already seen (so a known key is not hashed on every call).</summary>
    sealed class ActiveClients(Dictionary<string, Caller> byHash, DateTimeOffset loadedAt)
    {
        public static readonly ActiveClients Empty = new([], DateTimeOffset.MinValue);

        readonly ConcurrentDictionary<string, Caller> byKey = new(StringComparer.Ordinal);

        public DateTimeOffset LoadedAt { get; } = loadedAt;

        public Caller? Find(string key)
        {
            if (byKey.TryGetValue(key, out var known))
                return known;
            if (!byHash.TryGetValue(Convert.ToHexString(Hash(key)), out var caller))
                return null;
            byKey[key] = caller; // bounded by the number of active clients: only valid keys get here
            return caller;
        }
    }

    public async Task<(ClientRecord Client, string Key)> CreateAsync(string name, ClientRole role, IReadOnlyList<string> stores, Channel channel,
        int requestsPerSecond, CancellationToken ct)
    {
        var created = await store.WriteAsync(async (db, token) =>
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
        Forget(); // usable at once through this instance
        return created;
    }

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
        Forget(); // refused at once through this instance
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
