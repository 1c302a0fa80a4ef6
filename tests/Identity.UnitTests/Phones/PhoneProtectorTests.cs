using System.Security.Cryptography;
using Identity.Service.Phones;

namespace Identity.UnitTests.Phones;

public sealed class PhoneProtectorTests
{
    static readonly PhoneKeys Keys = new(RandomNumberGenerator.GetBytes(32), RandomNumberGenerator.GetBytes(32));
    readonly PhoneProtector protector = new(Keys);

    static Phone Parse(string input) =>
        Phone.TryParse(input, out var phone, out var error) ? phone : throw new ArgumentException(error, nameof(input));

    [Theory]
    [InlineData("13812345678")]
    [InlineData("+852 9123 4567")]
    [InlineData("+1 650 253 0000")]
    public void Decrypt_returns_the_encrypted_phone(string input)
    {
        var phone = Parse(input);

        Assert.Equal(phone, protector.Decrypt(protector.Encrypt(phone)));
    }

    [Fact]
    public void Each_encryption_uses_a_fresh_nonce_and_hides_the_digits()
    {
        var phone = Parse("13812345678");

        var first = protector.Encrypt(phone);
        var second = protector.Encrypt(phone);

        Assert.NotEqual(first, second);
        foreach (var ciphertext in new[] { first, second })
        {
            Assert.True(ciphertext.AsSpan().IndexOf("13812345678"u8) < 0, "ciphertext contains the phone digits");
        }
        Assert.Equal(phone, protector.Decrypt(first));
        Assert.Equal(phone, protector.Decrypt(second));
    }

    [Fact]
    public void The_blind_index_is_the_same_for_every_written_form_of_a_phone()
    {
        var forms = new[] { "13812345678", "+86 138 1234 5678", "0086-138-1234-5678", "86-138 1234 5678", "＋８６ １３８ １２３４ ５６７８", "١٣٨١٢٣٤٥٦٧٨" };

        var indexes = forms.Select(f => Convert.ToHexString(protector.BlindIndex(Parse(f)))).Distinct().ToList();

        Assert.Single(indexes);
        Assert.Equal(32, protector.BlindIndex(Parse(forms[0])).Length);
    }

    [Fact]
    public void The_blind_index_differs_between_phones()
    {
        Assert.NotEqual(protector.BlindIndex(Parse("13812345678")), protector.BlindIndex(Parse("13812345679")));
        Assert.NotEqual(protector.BlindIndex(Parse("13812345678")), protector.BlindIndex(Parse("+852 9123 4567")));
    }

    [Fact]
    public void The_blind_index_depends_on_the_index_key()
    {
        var phone = Parse("13812345678");
        var otherIndexKey = new PhoneProtector(new PhoneKeys(Keys.EncryptionKey, RandomNumberGenerator.GetBytes(32)));

        Assert.NotEqual(protector.BlindIndex(phone), otherIndexKey.BlindIndex(phone));
        Assert.Equal(protector.BlindIndex(phone), new PhoneProtector(Keys).BlindIndex(phone));
    }

    [Theory]
    [InlineData(1)] // nonce
    [InlineData(13)] // first ciphertext byte
    [InlineData(-1)] // last tag byte
    public void A_tampered_ciphertext_does_not_decrypt(int position)
    {
        var stored = protector.Encrypt(Parse("13812345678"));
        stored[position >= 0 ? position : stored.Length + position] ^= 0x01;

        Assert.ThrowsAny<CryptographicException>(() => protector.Decrypt(stored));
    }

    [Fact]
    public void A_ciphertext_in_an_unknown_format_does_not_decrypt()
    {
        var stored = protector.Encrypt(Parse("13812345678"));
        stored[0] = 2;

        Assert.ThrowsAny<CryptographicException>(() => protector.Decrypt(stored));
        Assert.ThrowsAny<CryptographicException>(() => protector.Decrypt(stored.AsSpan(0, 20)));
    }

    [Fact]
    public void A_ciphertext_does_not_decrypt_under_another_encryption_key()
    {
        var stored = protector.Encrypt(Parse("13812345678"));
        var other = new PhoneProtector(new PhoneKeys(RandomNumberGenerator.GetBytes(32), Keys.IndexKey));

        Assert.ThrowsAny<CryptographicException>(() => other.Decrypt(stored));
    }

    [Theory]
    [InlineData(0, 32)]
    [InlineData(16, 32)]
    [InlineData(31, 32)]
    [InlineData(33, 32)]
    [InlineData(32, 16)]
    [InlineData(32, 64)]
    public void PhoneKeys_rejects_keys_that_are_not_32_bytes(int encryptionLength, int indexLength)
    {
        Assert.Throws<ArgumentException>(() => new PhoneKeys(new byte[encryptionLength], new byte[indexLength]));
    }
}
