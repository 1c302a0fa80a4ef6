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
    const string MainlandRule =
        "is not a mainland China mobile (1[3-9] + 9 digits) or fixed line (0 + area code + subscriber number)";

    static readonly PhoneNumberUtil Util = PhoneNumberUtil.GetInstance();

    Phone(string e164, int countryCode, string nationalNumber, PhoneKind kind)
    {
        E164 = e164;
        CountryCode = countryCode;
        NationalNumber = nationalNumber;
        Kind = kind;
    }

    /// <summary>The number in E.164, e.g. <c>+8613812345678</c>. Personal information: never log it.</summary>
    public string E164 { get; }

    /// <summary>The ITU country calling code, e.g. 86.</summary>
    public int CountryCode { get; }

    /// <summary>The national significant number, e.g. <c>13812345678</c> or <c>1012345678</c> (no trunk 0).</summary>
    public string NationalNumber { get; }

    /// <summary>Mobile, fixed line, or (abroad, where the number alone does not tell) unknown.</summary>
    public PhoneKind Kind { get; }

    public bool IsFixedLine => Kind == PhoneKind.FixedLine;

    /// <summary>
    /// The number for display: <c>138****5678</c> for mainland mobiles, <c>010****5678</c> for mainland fixed lines
    /// (the area code, which names a city, not a person, stays readable), <c>+852 ****5678</c> elsewhere.
    /// </summary>
    public string Masked => (CountryCode, Kind) switch
    {
        (MainlandChina, PhoneKind.FixedLine) => string.Concat(
            "0", NationalNumber.AsSpan(0, AreaCodeLength(NationalNumber)), "****", NationalNumber.AsSpan(NationalNumber.Length - 4)),
        (MainlandChina, _) => string.Concat(NationalNumber.AsSpan(0, 3), "****", NationalNumber.AsSpan(NationalNumber.Length - 4)),
        _ => $"+{CountryCode} {new string('*', Math.Max(0, NationalNumber.Length - 4))}{NationalNumber[^Math.Min(4, NationalNumber.Length)..]}",
    };

    public override string ToString() => Masked;

    /// <summary>Rebuilds a phone from a stored E.164 string (already validated when it was written).</summary>
    public static Phone FromE164(string e164) =>
        TryParse(e164, out var phone, out var error) ? phone : throw new FormatException($"Stored phone is not valid E.164: {error}");

    /// <summary>
    /// Normalises any written form: <c>+86</c>, <c>0086</c>, <c>86</c>, a trunk <c>0</c> (also as <c>(0)</c> after
    /// the country code), separators (see <see cref="IsSeparator"/>), full-width digits and plus, any Unicode decimal
    /// digit. Mainland numbers must be mobiles matching <c>1[3-9]\d{9}</c> or fixed lines (see
    /// <see cref="IsMainlandFixedLine"/>), both checked by our own rules, not by libphonenumber's metadata, which lags
    /// new prefixes and would strip IP-dial and carrier prefixes instead of refusing them. Other countries' numbers
    /// must be valid for their country.
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
                phone = new Phone("+86" + mobile, MainlandChina, mobile, PhoneKind.Mobile);
                return true;
            }
        }

        if (canonical.StartsWith("+86", StringComparison.Ordinal) || canonical.StartsWith("0086", StringComparison.Ordinal)
            || canonical[0] != '+' && !canonical.StartsWith("00", StringComparison.Ordinal))
            return TryParseMainland(canonical, out phone, out error);

        return TryParseForeign(canonical[0] == '+' ? canonical : "+" + canonical[2..], out phone, out error);
    }

    /// <summary>
    /// A mainland number: an optional country code (<c>+86</c>, <c>0086</c>, <c>86</c>), then an optional trunk
    /// <c>0</c>, then the national number. A fixed line needs one of the two in front of its area code: bare, its
    /// digits could be anything.
    /// </summary>
    static bool TryParseMainland(string canonical, out Phone phone, [NotNullWhen(false)] out string? error)
    {
        phone = default;
        var national = canonical.AsSpan();
        var countryCode = false;
        foreach (var prefix in (ReadOnlySpan<string>)["+86", "0086", "86"])
        {
            if (national.StartsWith(prefix, StringComparison.Ordinal))
            {
                national = national[prefix.Length..];
                countryCode = true;
                break;
            }
        }
        var trunk = national.Length > 0 && national[0] == '0';
        if (trunk)
            national = national[1..];

        if (IsMainlandMobile(national))
        {
            var mobile = national.ToString();
            phone = new Phone("+86" + mobile, MainlandChina, mobile, PhoneKind.Mobile);
            error = null;
            return true;
        }
        if ((countryCode || trunk) && IsMainlandFixedLine(national))
        {
            if (IsServiceNumber(national))
            {
                error = "is a service number (400, 800…), not a subscriber's line";
                return false;
            }
            var fixedLine = national.ToString();
            phone = new Phone("+86" + fixedLine, MainlandChina, fixedLine, PhoneKind.FixedLine);
            error = null;
            return true;
        }
        error = MainlandRule;
        return false;
    }

    static bool TryParseForeign(string international, out Phone phone, [NotNullWhen(false)] out string? error)
    {
        phone = default;
        PhoneNumber parsed;
        try
        {
            parsed = Util.Parse(international, "CN");
        }
        catch (NumberParseException)
        {
            error = "is not a phone number";
            return false;
        }
        if (parsed.CountryCode == MainlandChina)
        {
            // Only reached through a form TryParse did not route to the mainland rules (it never should); never let
            // libphonenumber's looser CN parsing decide.
            error = MainlandRule;
            return false;
        }
        if (!Util.IsValidNumber(parsed))
        {
            error = $"is not a valid number for country code +{parsed.CountryCode}";
            return false;
        }

        var national = Util.GetNationalSignificantNumber(parsed);
        var kind = Util.GetNumberType(parsed) switch
        {
            PhoneNumberType.MOBILE => PhoneKind.Mobile,
            PhoneNumberType.FIXED_LINE => PhoneKind.FixedLine,
            _ => PhoneKind.Unknown,
        };
        phone = new Phone($"+{parsed.CountryCode}{national}", parsed.CountryCode, national, kind);
        error = null;
        return true;
    }

    static bool IsMainlandMobile(ReadOnlySpan<char> national) =>
        national.Length == 11 && national[0] == '1' && national[1] is >= '3' and <= '9' && AllAsciiDigits(national);

    /// <summary>
    /// A mainland fixed line without its trunk 0: area code <c>10</c> or <c>2x</c> with an 8-digit subscriber number,
    /// or a 3-digit area code <c>3xx</c>–<c>9xx</c> with a 7- or 8-digit one. A subscriber number never starts with 0
    /// (a second trunk 0 is a typing error, not a number). Exact lengths are what refuse IP-dial and carrier prefixes
    /// (17951, 12593, 10193…) in front of a number: they make it too long, or start with 1 but not 10.
    /// </summary>
    static bool IsMainlandFixedLine(ReadOnlySpan<char> national)
    {
        if (!AllAsciiDigits(national) || national.Length < 10)
            return false;
        var areaLength = AreaCodeLength(national);
        var subscriber = national[areaLength..];
        return areaLength switch
        {
            2 => national[0] is '1' ? national[1] == '0' && subscriber.Length == 8 : subscriber.Length == 8,
            3 => subscriber.Length is 7 or 8,
            _ => false,
        } && subscriber[0] != '0';
    }

    /// <summary>
    /// libphonenumber helps where our shape rule cannot tell: a shared-cost or toll-free range (400, 800) has the shape
    /// of a 3-digit area code with 7 digits. Its per-city subscriber lengths are not used: a legacy record with a number
    /// from before a city went to 8 digits still identifies its person.
    /// </summary>
    static bool IsServiceNumber(ReadOnlySpan<char> national)
    {
        var parsed = Util.Parse(string.Concat("+86", national), "CN");
        return Util.GetNumberType(parsed) is PhoneNumberType.TOLL_FREE or PhoneNumberType.SHARED_COST
            or PhoneNumberType.PREMIUM_RATE or PhoneNumberType.UAN or PhoneNumberType.VOIP or PhoneNumberType.VOICEMAIL
            or PhoneNumberType.PAGER or PhoneNumberType.PERSONAL_NUMBER;
    }

    /// <summary>2 for <c>10</c> and <c>2x</c>, 3 for <c>3xx</c>–<c>9xx</c>, 0 for anything else.</summary>
    static int AreaCodeLength(ReadOnlySpan<char> national) => national[0] switch
    {
        '1' or '2' => 2,
        >= '3' and <= '9' => 3,
        _ => 0,
    };

    static bool AllAsciiDigits(ReadOnlySpan<char> value)
    {
        foreach (var c in value)
        {
            if (!char.IsAsciiDigit(c))
                return false;
        }
        return true;
    }

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

    /// <summary>
    /// Separators: any Unicode white space (space, TAB, line breaks, ideographic and non-breaking spaces), any dash
    /// (<c>-</c>, <c>－</c>, en and em dashes…), <c>.</c> <c>/</c> <c>(</c> <c>)</c>, their full-width forms, the
    /// middle dots <c>·</c> <c>・</c>, and invisible format characters (zero-width space, direction marks, BOM), which
    /// ride along when a number is copied from a contact app.
    /// </summary>
    static bool IsSeparator(Rune rune) =>
        Rune.IsWhiteSpace(rune)
        || Rune.GetUnicodeCategory(rune) == UnicodeCategory.Format
        || rune.Value is '-' or '.' or '/' or '(' or ')' or '（' or '）' or '－' or '．' or '／' or '・' or '·'
        || Rune.GetUnicodeCategory(rune) == UnicodeCategory.DashPunctuation;
}
