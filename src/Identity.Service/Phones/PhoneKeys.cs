using System.Security.Cryptography;
using System.Text.Json;
using Identity.Service.Hosting;
using Microsoft.Extensions.Options;

namespace Identity.Service.Phones;

/// <summary>
/// The two 256-bit keys that protect phones: one encrypts, one derives the blind index. Configured as base64 in
/// <c>Identity:Keys:PhoneEncryptionKey</c> and <c>Identity:Keys:PhoneIndexKey</c>. With neither configured, a development
/// key file is generated once in the data directory (owner-only permissions) and reused on later starts.
/// </summary>
public sealed class PhoneKeys
{
    public const string DevelopmentKeyFile = "phone-keys.json";
    const int KeySize = 32;

    public PhoneKeys(byte[] encryptionKey, byte[] indexKey)
    {
        if (encryptionKey.Length != KeySize || indexKey.Length != KeySize)
            throw new ArgumentException($"Phone keys must be {KeySize} bytes each.");
        EncryptionKey = encryptionKey;
        IndexKey = indexKey;
    }

    public byte[] EncryptionKey { get; }
    public byte[] IndexKey { get; }

    public static PhoneKeys Load(IOptions<IdentityOptions> options, ILogger<PhoneKeys> logger)
    {
        var configured = options.Value.Keys;
        var hasEncryption = !string.IsNullOrWhiteSpace(configured.PhoneEncryptionKey);
        var hasIndex = !string.IsNullOrWhiteSpace(configured.PhoneIndexKey);
        if (hasEncryption != hasIndex)
            throw new InvalidOperationException("Configure both Identity:Keys:PhoneEncryptionKey and Identity:Keys:PhoneIndexKey, or neither.");
        if (hasEncryption)
            return new PhoneKeys(DecodeKey(configured.PhoneEncryptionKey!, "PhoneEncryptionKey"), DecodeKey(configured.PhoneIndexKey!, "PhoneIndexKey"));

        // A key file is one host's: instances sharing a PostgreSQL database must share their keys through configuration.
        if (options.Value.Store.IsPostgres)
            throw new InvalidOperationException(
                "Identity:Store:Provider is Postgres: configure Identity:Keys:PhoneEncryptionKey and Identity:Keys:PhoneIndexKey, the same on every instance.");
        var path = Path.Combine(options.Value.DataDirectory, DevelopmentKeyFile);
        var keys = File.Exists(path) ? ReadKeyFile(path) : CreateKeyFile(path);
        Log.DevelopmentPhoneKeys(logger, path);
        return keys;
    }

    static byte[] DecodeKey(string base64, string name)
    {
        try
        {
            var key = Convert.FromBase64String(base64);
            if (key.Length == KeySize)
                return key;
        }
        catch (FormatException)
        {
        }
        throw new InvalidOperationException($"Identity:Keys:{name} must be {KeySize} bytes in base64 (e.g. `openssl rand -base64 32`).");
    }

    static PhoneKeys ReadKeyFile(string path)
    {
        var file = JsonSerializer.Deserialize(File.ReadAllText(path), KeyFileContext.Default.KeyFile)
                   ?? throw new InvalidOperationException($"Phone key file {path} is empty.");
        return new PhoneKeys(DecodeKey(file.PhoneEncryptionKey, "PhoneEncryptionKey"), DecodeKey(file.PhoneIndexKey, "PhoneIndexKey"));
    }

    static PhoneKeys CreateKeyFile(string path)
    {
        var keys = new PhoneKeys(RandomNumberGenerator.GetBytes(KeySize), RandomNumberGenerator.GetBytes(KeySize));
        var file = new KeyFile(Convert.ToBase64String(keys.EncryptionKey), Convert.ToBase64String(keys.IndexKey));
        DataDirectory.Ensure(Path.GetDirectoryName(Path.GetFullPath(path))!);
        // CreateNew: two instances starting at once must not overwrite each other's keys.
        var streamOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
            streamOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        try
        {
            using var stream = new FileStream(path, streamOptions);
            JsonSerializer.Serialize(stream, file, KeyFileContext.Default.KeyFile);
        }
        catch (IOException) when (File.Exists(path))
        {
            return ReadKeyFile(path);
        }
        return keys;
    }
}

sealed record KeyFile(string PhoneEncryptionKey, string PhoneIndexKey);

[System.Text.Json.Serialization.JsonSerializable(typeof(KeyFile))]
sealed partial class KeyFileContext : System.Text.Json.Serialization.JsonSerializerContext;
