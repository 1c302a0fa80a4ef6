using System.Security.Cryptography;
using System.Text;

namespace Identity.Service.Phones;

/// <summary>
/// Phones at rest: AES-256-GCM ciphertext with a fresh nonce per encryption, plus an HMAC-SHA256 blind index over the
/// E.164 string so that an exact lookup never needs the plaintext. Keys come from <see cref="PhoneKeys"/>, never from the
/// database.
/// </summary>
public sealed class PhoneProtector(PhoneKeys keys)
{
    const byte FormatVersion = 1;
    const int NonceSize = 12;
    const int TagSize = 16;
    static readonly byte[] AssociatedData = "identity.phone.v1"u8.ToArray();

    // One key schedule per thread (AesGcm is not safe for concurrent use): an import encrypts thousands of phones a second.
    readonly ThreadLocal<AesGcm> ciphers = new(() => new AesGcm(keys.EncryptionKey, TagSize));

    public byte[] BlindIndex(Phone phone)
    {
        Span<byte> e164 = stackalloc byte[32];
        var length = Encoding.ASCII.GetBytes(phone.E164, e164);
        return HMACSHA256.HashData(keys.IndexKey, e164[..length]);
    }

    public byte[] Encrypt(Phone phone)
    {
        var plaintext = Encoding.ASCII.GetBytes(phone.E164);
        var output = new byte[1 + NonceSize + plaintext.Length + TagSize];
        output[0] = FormatVersion;
        var nonce = output.AsSpan(1, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        ciphers.Value!.Encrypt(nonce, plaintext, output.AsSpan(1 + NonceSize, plaintext.Length), output.AsSpan(^TagSize), AssociatedData);
        return output;
    }

    public Phone Decrypt(ReadOnlySpan<byte> stored)
    {
        if (stored.Length < 1 + NonceSize + TagSize || stored[0] != FormatVersion)
            throw new CryptographicException("Stored phone ciphertext has an unknown format.");
        var nonce = stored.Slice(1, NonceSize);
        var ciphertext = stored[(1 + NonceSize)..^TagSize];
        Span<byte> plaintext = stackalloc byte[ciphertext.Length];
        using var aes = new AesGcm(keys.EncryptionKey, TagSize);
        aes.Decrypt(nonce, ciphertext, stored[^TagSize..], plaintext, AssociatedData);
        return Phone.FromE164(Encoding.ASCII.GetString(plaintext));
    }
}
