using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using PhoneNumbers;

namespace Identity.Service.Phones;

/// <summary>
/// A phone number normalised to E.164 — the identity key of a member. The only way to get one is <see cref="TryParse"/>,
/// so every instance is valid. Its <see cref="ToString"/> is masked: a full phone never reaches a log by accident.
/// </summary>
public readonly record struct Phone
{
    public const int MaxInputLength = 64;
    const int MainlandChina = 86;

    static readonly PhoneNumberUtil Util = PhoneNumberUtil.GetInstance();

    Phone(string e164, int countryCode, string nationalNumber)
    {
        E164 = e164;
        CountryCode = countryCode;
        NationalNumber = nationalNumber;
    }

    /// <summary>The number in E.164, e.g. <c>+8613812345678</c>. Personal information: never log it.</summary>
    public string E164 { get; }

    /// <summary>The ITU country calling code, e.g. 86.</summary>
    public int CountryCode { get; }

    /// <summary>The national significant number, e.g. <c>13812345678</c>.</summary>
    public string NationalNumber { get; }

    /// <summary>The number for display: <c>138****5678</c> for mainland mobiles, <c>+852 ****5678</c> elsewhere.</summary>
    public string Masked => CountryCode == MainlandChina
        ? string.Concat(NationalNumber.AsSpan(0, 3), "****", NationalNumber.AsSpan(NationalNumber.Length - 4))
        : $"+{CountryCode} {new string('*', Math.Max(0, NationalNumber.Length - 4))}{NationalNumber[^Math.Min(4, NationalNumber.Length)..]}";

    public override string ToString() => Masked;

    /// <summary>Rebuilds a phone from a stored E.164 string (already validated when it was written).</summary>
    public static Phone FromE164(string e164) =>
        TryParse(e164, out var phone, out var error) ? phone : throw new FormatException($"Stored phone is not valid E.164: {error}");

    /// <summary>
    /// Normalises any written form: <c>+86</c>, <c>0086</c>, <c>86</c>, spaces, dashes, dots, brackets, full-width digits
    /// and plus, any Unicode decimal digit. Mainland numbers must be mobiles matching <c>1[3-9]\d{9}</c> (checked here,
    /// not by libphonenumber's metadata, which lags new prefixes); other countries' numbers must be valid for their country.
    /// </summary>
    public static bool TryParse(string? input, out Phone phone, [NotNullWhen(false)] out string? error)
    {
        phone = default;
        if (string.IsNullOrWhiteSpace(input))
        {
            error = "must not be empty";
            return false;
        }
        if (input.Length > MaxInputLength)
        {
            error = $"must be at most {MaxInputLength} characters";
            return false;
        }
        if (!TryCanonicalise(input, out var canonical, out error))
            return false;

        // The common case, a mainland mobile with or without +86 / 0086 / 86, is decided by our own rule alone; it is
        // on every POS lookup, and libphonenumber's parse costs far more than the rest of the lookup.
        if (canonical.Length >= 11)
        {
            var prefix = canonical.AsSpan(0, canonical.Length - 11);
            var mobile = canonical[^11..];
            if (prefix is "" or "86" or "+86" or "0086" && IsMainlandMobile(mobile))
            {
                phone = new Phone("+86" + mobile, MainlandChina, mobile);
                return true;
            }
        }

        // Forms without an international prefix: an 11-digit mainland mobile, or a mobile preceded by 86.
        if (canonical[0] != '+')
        {
            if (canonical.StartsWith("00", StringComparison.Ordinal))
                canonical = "+" + canonical[2..];
            else if (canonical.Length == 13 && canonical.StartsWith("861", StringComparison.Ordinal))
                canonical = "+" + canonical;
            else if (canonical.Length == 11 && canonical[0] == '1')
                canonical = "+86" + canonical;
        }

        PhoneNumber parsed;
        try
        {
            parsed = Util.Parse(canonical, "CN");
        }
        catch (NumberParseException)
        {
            error = "is not a phone number";
            return false;
        }

        var national = Util.GetNationalSignificantNumber(parsed);
        if (parsed.CountryCode == MainlandChina)
        {
            // libphonenumber strips a trunk 0 and carrier or IP-dial prefixes (17951, 12593…) from CN numbers: the
            // digits after +86 must be the 11-digit mobile itself, so 12- or 16-digit input is not silently shortened.
            if (!IsMainlandMobile(national) || canonical != $"+{MainlandChina}{national}")
            {
                error = "is not a mainland China mobile number (11 digits, 1[3-9]xxxxxxxxx)";
                return false;
            }
        }
        else if (!Util.IsValidNumber(parsed))
        {
            error = $"is not a valid number for country code +{parsed.CountryCode}";
            return false;
        }

        phone = new Phone($"+{parsed.CountryCode}{national}", parsed.CountryCode, national);
        return true;
    }

    static bool IsMainlandMobile(string national) =>
        national.Length == 11 && national[0] == '1' && national[1] is >= '3' and <= '9' && national.All(char.IsAsciiDigit);

    /// <summary>Keeps an optional leading plus and the digits (as ASCII); drops separators; rejects anything else.</summary>
    static bool TryCanonicalise(string input, out string canonical, [NotNullWhen(false)] out string? error)
    {
        var sb = new StringBuilder(input.Length);
        foreach (var rune in input.Trim().EnumerateRunes())
        {
            var value = rune.Value;
            if (Rune.GetUnicodeCategory(rune) == UnicodeCategory.DecimalDigitNumber)
            {
                sb.Append((char)('0' + (int)Rune.GetNumericValue(rune)));
            }
            else if (value is '+' or '＋')
            {
                if (sb.Length > 0)
                {
                    canonical = "";
                    error = "has a '+' that is not at the start";
                    return false;
                }
                sb.Append('+');
            }
            else if (IsSeparator(rune))
            {
                // Written-form punctuation carries no digits.
            }
            else
            {
                canonical = "";
                error = "contains characters that are not digits or separators";
                return false;
            }
        }

        var digits = sb.Length - (sb.Length > 0 && sb[0] == '+' ? 1 : 0);
        if (digits < 5 || digits > 17)
        {
            canonical = "";
            error = "has the wrong number of digits";
            return false;
        }
        canonical = sb.ToString();
        error = null;
        return true;
    }

    // Invisible format characters (zero-width space, direction marks, BOM) ride along when a number is copied from a
    // contact app; they carry nothing, so they count as separators.
    static bool IsSeparator(Rune rune) =>
        Rune.IsWhiteSpace(rune)
        || Rune.GetUnicodeCategory(rune) == UnicodeCategory.Format
        || rune.Value is '-' or '.' or '/' or '(' or ')' or '（' or '）' or '－' or '．' or '／' or '・' or '·'
        || Rune.GetUnicodeCategory(rune) == UnicodeCategory.DashPunctuation;
}
