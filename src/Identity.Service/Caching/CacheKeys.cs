using System.Security.Cryptography;
using System.Text;
using Identity.Service.Phones;

namespace Identity.Service.Caching;

/// <summary>
/// Names and seals what the cache shares. Redis is not trusted with anything readable: a key name is a keyed HMAC of
/// the member id, phone index or channel identity, and a value is AES-256-GCM ciphertext bound to its key name. Both
/// keys are derived (HKDF) from the configured phone keys, so rotating those rotates these.
/// </summary>
public sealed class CacheKeys
{
    /// <summary>Length of a name's token (16 bytes of HMAC, base64url): long enough that names never collide.</summary>
    public const int TokenLength = 22;

    const byte FormatVersion = 1;
    const int NonceSize = 12;
    const int TagSize = 16;

    readonly byte[] nameKey;
    readonly byte[] valueKey;

    // One AES-GCM key schedule per thread: making one per value costs more than sealing the value (and AesGcm is not
    // safe for concurrent use).
    readonly ThreadLocal<AesGcm> ciphers;

    AesGcm Cipher => ciphers.Value!;

    readonly ThreadLocal<IncrementalHash> macs;

    const int MaxRememberedMemberKeys = 200_000;
    readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> memberKeys = new(StringComparer.Ordinal);
    int rememberedMemberKeys;

    public CacheKeys(PhoneKeys keys)
    {
        nameKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, keys.IndexKey, 32, info: "identity.cache.names.v1"u8.ToArray());
        valueKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, keys.EncryptionKey, 32, info: "identity.cache.values.v1"u8.ToArray());
        ciphers = new ThreadLocal<AesGcm>(() => new AesGcm(valueKey, TagSize));
        macs = new ThreadLocal<IncrementalHash>(() => IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, nameKey));
    }

    /// <summary>The snapshot of a member: <c>m:{token}</c>.</summary>
    /// <summary>A member's snapshot key; remembered, since every read of a member names it more than once.</summary>
    public string Member(string memberId)
    {
        if (memberKeys.TryGetValue(memberId, out var known))
            return known;
        var key = "m:" + Token('m', Encoding.UTF8.GetBytes(memberId));
        // Counted here: ConcurrentDictionary.Count takes every lock of the table, and an import names hundreds of
        // thousands of new members (the writer then waited on those locks for a fifth of its time).
        if (Interlocked.Increment(ref rememberedMemberKeys) > MaxRememberedMemberKeys)
        {
            Interlocked.Exchange(ref rememberedMemberKeys, 0);
            memberKeys.Clear(); // a bound, not an eviction policy: the keys are recomputed on demand
        }
        memberKeys[memberId] = key;
        return key;
    }

    /// <summary>The version announced for a snapshot key: <c>v:{token}</c>.</summary>
    public static string VersionOf(string memberKey) => string.Concat("v:", memberKey.AsSpan(2));

    public static bool IsMember(string key) => key.StartsWith("m:", StringComparison.Ordinal);

    /// <summary>The phone lookup: <c>p:{token}</c> over the phone's blind index.</summary>
    public string Phone(byte[] blindIndex) => "p:" + Token('p', blindIndex);

    /// <summary>The channel identity lookup: <c>i:{token}</c>.</summary>
    public string Identity(Members.IdentityKey identity) =>
        "i:" + Token('i', Encoding.UTF8.GetBytes(identity.Channel.ToString(System.Globalization.CultureInfo.InvariantCulture) + ":" + identity.ExternalId));

    string Token(char kind, ReadOnlySpan<byte> value)
    {
        // A keyed HMAC per thread: keying one per call costs more than the hash itself (it is on every L2 read).
        var hmac = macs.Value!;
        Span<byte> prefix = [(byte)kind];
        hmac.AppendData(prefix);
        hmac.AppendData(value);
        Span<byte> mac = stackalloc byte[32];
        hmac.GetHashAndReset(mac);
        return Convert.ToBase64String(mac[..16]).TrimEnd('=').Replace('+', '-').Replace('/', '_');
    }

    /// <summary>Encrypts a value for <paramref name="key"/>; it opens only under that name.</summary>
    public byte[] Seal(string key, ReadOnlySpan<byte> plaintext)
    {
        var output = new byte[1 + NonceSize + plaintext.Length + TagSize];
        output[0] = FormatVersion;
        var nonce = output.AsSpan(1, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        Cipher.Encrypt(nonce, plaintext, output.AsSpan(1 + NonceSize, plaintext.Length), output.AsSpan(^TagSize), Encoding.ASCII.GetBytes(key));
        return output;
    }

    /// <summary>Decrypts a value read under <paramref name="key"/>; false for anything that is not a value sealed for it.</summary>
    public bool TryOpen(string key, ReadOnlySpan<byte> sealedValue, out byte[] plaintext)
    {
        plaintext = [];
        if (sealedValue.Length < 1 + NonceSize + TagSize || sealedValue[0] != FormatVersion)
            return false;
        var ciphertext = sealedValue[(1 + NonceSize)..^TagSize];
        var output = new byte[ciphertext.Length];
        try
        {
            Cipher.Decrypt(sealedValue.Slice(1, NonceSize), ciphertext, sealedValue[^TagSize..], output, Encoding.ASCII.GetBytes(key));
        }
        catch (CryptographicException)
        {
            return false;
        }
        plaintext = output;
        return true;
    }
}
