using System.Security.Cryptography;
using Identity.Service.Hosting;
using Identity.Service.Phones;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Identity.UnitTests.Phones;

public sealed class PhoneKeysTests : IDisposable
{
    readonly string root = Path.Combine(Path.GetTempPath(), "identity-unit-" + Guid.NewGuid().ToString("N"));

    string DataDirectory => Path.Combine(root, "data");

    PhoneKeys Load(string? encryptionKey = null, string? indexKey = null) =>
        PhoneKeys.Load(
            Options.Create(new IdentityOptions
            {
                DataDirectory = DataDirectory,
                Keys = new KeyOptions { PhoneEncryptionKey = encryptionKey, PhoneIndexKey = indexKey },
            }),
            NullLogger<PhoneKeys>.Instance);

    public void Dispose()
    {
        if (Directory.Exists(root))
            Directory.Delete(root, recursive: true);
    }

    [Fact]
    public void Without_configured_keys_a_key_file_is_created_and_reused()
    {
        var first = Load();
        var second = Load();

        Assert.True(File.Exists(Path.Combine(DataDirectory, PhoneKeys.DevelopmentKeyFile)));
        Assert.Equal(first.EncryptionKey, second.EncryptionKey);
        Assert.Equal(first.IndexKey, second.IndexKey);
        Assert.NotEqual(first.EncryptionKey, first.IndexKey);
        // A phone encrypted before a restart still decrypts and still finds its index after it.
        var phone = Phone.FromE164("+8613812345678");
        Assert.Equal(phone, new PhoneProtector(second).Decrypt(new PhoneProtector(first).Encrypt(phone)));
        Assert.Equal(new PhoneProtector(first).BlindIndex(phone), new PhoneProtector(second).BlindIndex(phone));
    }

    [Fact]
    public void The_generated_key_file_and_its_directory_are_readable_by_the_owner_only()
    {
        if (OperatingSystem.IsWindows())
            return;

        Load();

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite,
            File.GetUnixFileMode(Path.Combine(DataDirectory, PhoneKeys.DevelopmentKeyFile)));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute,
            File.GetUnixFileMode(DataDirectory));
    }

    [Fact]
    public void Configured_keys_are_used_and_no_key_file_is_written()
    {
        var encryption = RandomNumberGenerator.GetBytes(32);
        var index = RandomNumberGenerator.GetBytes(32);

        var keys = Load(Convert.ToBase64String(encryption), Convert.ToBase64String(index));

        Assert.Equal(encryption, keys.EncryptionKey);
        Assert.Equal(index, keys.IndexKey);
        Assert.False(File.Exists(Path.Combine(DataDirectory, PhoneKeys.DevelopmentKeyFile)));
    }

    [Fact]
    public void Configuring_only_the_encryption_key_fails()
    {
        Assert.Throws<InvalidOperationException>(() => Load(encryptionKey: Convert.ToBase64String(new byte[32])));
        Assert.False(Directory.Exists(DataDirectory));
    }

    [Fact]
    public void Configuring_only_the_index_key_fails()
    {
        Assert.Throws<InvalidOperationException>(() => Load(indexKey: Convert.ToBase64String(new byte[32])));
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("AAAAAAAAAAAAAAAAAAAAAA==")] // 16 bytes
    public void A_configured_key_that_is_not_32_bytes_of_base64_fails_without_echoing_it(string badKey)
    {
        var error = Assert.Throws<InvalidOperationException>(() => Load(badKey, Convert.ToBase64String(new byte[32])));

        Assert.Contains("PhoneEncryptionKey", error.Message);
        Assert.DoesNotContain(badKey, error.Message);
    }
}
