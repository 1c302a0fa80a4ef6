using Identity.Service.Phones;

namespace Identity.UnitTests.Phones;

public sealed class PhoneTests
{
    public static TheoryData<string, string> ValidForms => new()
    {
        // Mainland mobiles, as staff and customers type them.
        { "13812345678", "+8613812345678" },
        { " 13812345678 ", "+8613812345678" },
        { "+8613812345678", "+8613812345678" },
        { "+86 138 1234 5678", "+8613812345678" },
        { "+86-138-1234-5678", "+8613812345678" },
        { "0086 138 1234 5678", "+8613812345678" },
        { "008613812345678", "+8613812345678" },
        { "8613812345678", "+8613812345678" },
        { "86 138 1234 5678", "+8613812345678" },
        { "86-13812345678", "+8613812345678" },
        { "86-138 1234 5678", "+8613812345678" }, // legacy CRM export
        { "138-1234-5678", "+8613812345678" },
        { "138 1234 5678", "+8613812345678" },
        { "138.1234.5678", "+8613812345678" },
        { "(138) 1234 5678", "+8613812345678" },
        { "(+86) 138 1234 5678", "+8613812345678" },
        { "+86 (138) 1234-5678", "+8613812345678" },
        { "138/1234/5678", "+8613812345678" },
        { "\t+86 138 1234 5678\n", "+8613812345678" },
        // Full-width forms from Chinese input methods.
        { "１３８１２３４５６７８", "+8613812345678" },
        { "＋８６ １３８ １２３４ ５６７８", "+8613812345678" },
        { "＋８６１３８１２３４５６７８", "+8613812345678" },
        { "（＋８６）１３８－１２３４－５６７８", "+8613812345678" },
        { "+86\u3000138\u30001234\u30005678", "+8613812345678" }, // ideographic space
        { "+86\u00A0138\u00A01234\u00A05678", "+8613812345678" }, // non-breaking space
        { "\u300013812345678\u3000", "+8613812345678" },
        { "+86 138·1234·5678", "+8613812345678" },
        // Invisible characters that contact apps add when a number is copied.
        { "\u202A+86 138 1234 5678\u202C", "+8613812345678" },
        { "\uFEFF138\u200B1234\u200B5678", "+8613812345678" },
        // Any Unicode decimal digit.
        { "١٣٨١٢٣٤٥٦٧٨", "+8613812345678" }, // Arabic-Indic
        { "+٨٦ ١٣٨ ١٢٣٤ ٥٦٧٨", "+8613812345678" },
        { "۱۳۸۱۲۳۴۵۶۷۸", "+8613812345678" }, // Extended Arabic-Indic (Persian)
        { "१३८१२३४५६७८", "+8613812345678" }, // Devanagari
        { "১৩৮১২৩৪৫৬৭৮", "+8613812345678" }, // Bengali
        { "138١٢٣٤٥٦٧٨", "+8613812345678" }, // mixed scripts
        // Every mainland mobile prefix 13x-19x, including ones newer than libphonenumber's metadata.
        { "13012345678", "+8613012345678" },
        { "14512345678", "+8614512345678" },
        { "15012345678", "+8615012345678" },
        { "16212345678", "+8616212345678" },
        { "16512345678", "+8616512345678" },
        { "16712345678", "+8616712345678" },
        { "17012345678", "+8617012345678" },
        { "17912345678", "+8617912345678" },
        { "18912345678", "+8618912345678" },
        { "19012345678", "+8619012345678" },
        { "19112345678", "+8619112345678" },
        { "19212345678", "+8619212345678" },
        { "19312345678", "+8619312345678" },
        { "19412345678", "+8619412345678" },
        { "19512345678", "+8619512345678" },
        { "19612345678", "+8619612345678" },
        { "19712345678", "+8619712345678" },
        { "19812345678", "+8619812345678" },
        { "19912345678", "+8619912345678" },
        { "+86 196 0000 0000", "+8619600000000" },
        { "0086 192-1234-5678", "+8619212345678" },
        // Other countries' numbers that libphonenumber knows to be valid.
        { "+852 9123 4567", "+85291234567" },
        { "00852 9123 4567", "+85291234567" },
        { "+852-6123-4567", "+85261234567" },
        { "+1 650 253 0000", "+16502530000" },
        { "+1 (650) 253-0000", "+16502530000" },
        { "001 650 253 0000", "+16502530000" },
        { "+44 7911 123456", "+447911123456" },
        { "+44 (0)7911 123456", "+447911123456" },
        { "+886 912 345 678", "+886912345678" },
        { "+65 9123 4567", "+6591234567" },
        { "+65 8123 4567", "+6581234567" },
        { "＋８５２ ９１２３ ４５６７", "+85291234567" },
        // A trunk 0 in front of a mainland mobile, alone or after the country code, bracketed or not.
        { "013812345678", "+8613812345678" },
        { "0 138 1234 5678", "+8613812345678" },
        { "0138-1234-5678", "+8613812345678" },
        { "+86 (0)138 1234 5678", "+8613812345678" },
        { "+86 0138 1234 5678", "+8613812345678" },
        { "+86(0)13812345678", "+8613812345678" },
        { "0086 (0)138 1234 5678", "+8613812345678" },
        { "0086 0 13812345678", "+8613812345678" },
        { "86 0138 1234 5678", "+8613812345678" },
        { "86(0)13812345678", "+8613812345678" },
        { "８６（０）１３８１２３４５６７８", "+8613812345678" },
        // Mainland fixed lines: area code 10 or 2x with 8 digits, 3xx-9xx with 7 or 8, after a trunk 0 or +86/0086/86.
        { "010 1234 5678", "+861012345678" },
        { "(010)12345678", "+861012345678" },
        { "（０１０）１２３４５６７８", "+861012345678" },
        { "010-88888888", "+861088888888" },
        { "+86 10 12345678", "+861012345678" },
        { "+86 (0)10 1234 5678", "+861012345678" },
        { "0086 10 1234 5678", "+861012345678" },
        { "86 10 1234 5678", "+861012345678" },
        { "86-010-12345678", "+861012345678" },
        { "021-12345678", "+862112345678" },
        { "(021) 6123 4567", "+862161234567" },
        { "+86 21 6123 4567", "+862161234567" },
        { "020 8888 1234", "+862088881234" },
        { "029-8888-1234", "+862988881234" },
        { "0755-8888-1234", "+8675588881234" },
        { "0755 8888 8888", "+8675588888888" },
        { "+86 755 8888 1234", "+8675588881234" },
        { "0086-755-88881234", "+8675588881234" },
        { "0571 8888 1234", "+8657188881234" },
        { "0371-6666-1234", "+8637166661234" },
        { "0991 456 7890", "+869914567890" }, // 7-digit subscriber number
        { "0898-6666-123", "+868986666123" }, // a city now on 8 digits: the legacy number still names its person
        { "0411\t8888\t1234", "+8641188881234" },
        { "0755/8888/1234", "+8675588881234" },
        { "0755\u200B88881234", "+8675588881234" },
    };

    public static TheoryData<string> InvalidForms => new()
    {
        "",
        " ",
        "\u3000\t",
        "not a phone",
        "138abcd5678",
        "138 1234 567O", // letter O, not zero
        "13812345678 ext. 123",
        "13812345678x123",
        "13812345678#123",
        "+86 138 1234 5678;ext=9",
        "tel:+8613812345678",
        "138*1234*5678",
        new string('1', 65),
        "+86 138 1234 5678" + new string(' ', 50),
        "1381234567", // 10 digits
        "138123456789", // 12 digits
        "+86 138 1234 567",
        "+86 138 1234 56789",
        "86 138 1234 567",
        "0086 138 1234 567",
        "1234",
        "+",
        "+86",
        "138+12345678",
        "+86+13812345678",
        "++8613812345678",
        "86+13812345678",
        "13812345678+",
        "10012345678", // 1[0-2]
        "11012345678",
        "12012345678",
        "+86 120 1234 5678",
        "+86 23812345678",
        "+852 1234 5678", // not a Hong Kong number range
        "+1 123 456 7890", // no US area code starts with 1
        "+44 1234",
        "+999 1234 5678", // no such country code
        "00",
        "123456789012345678", // 18 digits
        // Extra digits before a mobile that libphonenumber would strip as a CN trunk, carrier or IP-dial prefix.
        "17951 138 1234 5678",
        "1795113812345678",
        "12593 13812345678",
        "11012 13812345678",
        "0 138 1234 567", // trunk 0 but a 10-digit mobile
        "00 138 1234 5678", // two trunk zeros
        "+86 00 138 1234 5678",
        "+86 0 0138 1234 5678",
        // Fixed lines need a trunk 0 or the country code; lengths are exact; subscriber numbers do not start with 0.
        "1012345678", // Beijing without its trunk 0
        "2112345678",
        "75588881234",
        "010 1234 567", // 7 digits after 10
        "010 1234 56789",
        "021 1234 567",
        "021-1234-56789",
        "0755 888 888", // 6 digits after a 3-digit area code
        "0755 8888 12345",
        "010 0123 4567",
        "0755 0888 1234",
        "+86 10 1234 567",
        "+86 011 1234 5678", // 1x other than 10 is no area code
        "012 1234 5678",
        "+86 0 0755 8888 1234",
        // IP-dial and carrier-select prefixes before a fixed line.
        "17951 010 1234 5678",
        "17951 0755 8888 1234",
        "12593 021 1234 5678",
        "17911 010 12345678",
        "10193 010 1234 5678",
        "17951 13812345678",
        "+86 17951 10 1234 5678",
        // Service ranges with the shape of a fixed line.
        "400-123-4567",
        "0400 123 4567",
        "+86 400 123 4567",
        "0800 123 4567",
    };

    [Theory]
    [MemberData(nameof(ValidForms))]
    public void Valid_written_forms_normalise_to_e164(string input, string e164)
    {
        Assert.True(Phone.TryParse(input, out var phone, out var error), $"rejected: {error}");
        Assert.Equal(e164, phone.E164);
        Assert.Null(error);
    }

    [Theory]
    [MemberData(nameof(InvalidForms))]
    public void Invalid_written_forms_are_rejected_with_a_reason(string input)
    {
        Assert.False(Phone.TryParse(input, out var phone, out var error), $"accepted as {phone.E164}");
        Assert.False(string.IsNullOrWhiteSpace(error));
        Assert.Equal(default, phone);
    }

    [Fact]
    public void Null_is_rejected()
    {
        Assert.False(Phone.TryParse(null, out _, out var error));
        Assert.False(string.IsNullOrWhiteSpace(error));
    }

    [Fact]
    public void The_error_message_does_not_echo_the_input()
    {
        Phone.TryParse("+86 138 1234 567", out _, out var error);

        Assert.DoesNotContain("1381234567", error);
    }

    [Fact]
    public void A_mainland_phone_exposes_country_code_and_national_number()
    {
        Assert.True(Phone.TryParse("+86 138 1234 5678", out var phone, out _));

        Assert.Equal(86, phone.CountryCode);
        Assert.Equal("13812345678", phone.NationalNumber);
    }

    [Theory]
    [InlineData("13812345678", PhoneKind.Mobile)]
    [InlineData("+86 (0)138 1234 5678", PhoneKind.Mobile)]
    [InlineData("010 1234 5678", PhoneKind.FixedLine)]
    [InlineData("0755-8888-1234", PhoneKind.FixedLine)]
    [InlineData("0991 456 7890", PhoneKind.FixedLine)]
    [InlineData("+852 9123 4567", PhoneKind.Mobile)]
    [InlineData("+852 2123 4567", PhoneKind.FixedLine)]
    [InlineData("+1 650 253 0000", PhoneKind.Unknown)] // the North American plan does not tell them apart
    public void A_phone_says_whether_it_is_a_mobile_or_a_fixed_line(string input, PhoneKind kind)
    {
        Assert.True(Phone.TryParse(input, out var phone, out var error), $"rejected: {error}");

        Assert.Equal(kind, phone.Kind);
        Assert.Equal(kind == PhoneKind.FixedLine, phone.IsFixedLine);
    }

    [Fact]
    public void A_fixed_line_keeps_its_area_code_without_the_trunk_zero()
    {
        Assert.True(Phone.TryParse("(0755) 8888-1234", out var phone, out _));

        Assert.Equal(86, phone.CountryCode);
        Assert.Equal("75588881234", phone.NationalNumber);
    }

    [Fact]
    public void A_foreign_phone_exposes_its_own_country_code()
    {
        Assert.True(Phone.TryParse("+852 9123 4567", out var phone, out _));

        Assert.Equal(852, phone.CountryCode);
        Assert.Equal("91234567", phone.NationalNumber);
    }

    [Theory]
    [InlineData("13812345678", "138****5678")]
    [InlineData("+86 199 0000 1234", "199****1234")]
    [InlineData("010 1234 5678", "010****5678")]
    [InlineData("0755-8888-1234", "0755****1234")]
    [InlineData("0991 456 7890", "0991****7890")]
    [InlineData("+852 9123 4567", "+852 ****4567")]
    [InlineData("+1 650 253 0000", "+1 ******0000")]
    [InlineData("+44 7911 123456", "+44 ******3456")]
    [InlineData("+65 9123 4567", "+65 ****4567")]
    public void Masked_shows_only_the_ends(string input, string masked)
    {
        Assert.True(Phone.TryParse(input, out var phone, out _));

        Assert.Equal(masked, phone.Masked);
    }

    [Theory]
    [InlineData("13812345678")]
    [InlineData("+852 9123 4567")]
    [InlineData("+1 650 253 0000")]
    [InlineData("+886 912 345 678")]
    public void ToString_never_reveals_the_full_number(string input)
    {
        Assert.True(Phone.TryParse(input, out var phone, out _));

        var text = phone.ToString();
        var interpolated = $"member phone {phone}";

        Assert.Equal(phone.Masked, text);
        Assert.DoesNotContain(phone.NationalNumber, text);
        Assert.DoesNotContain(phone.E164, text);
        Assert.DoesNotContain(phone.NationalNumber, interpolated);
    }

    [Theory]
    [InlineData("86-138 1234 5678")]
    [InlineData("１９６１２３４５６７８")]
    [InlineData("00852 9123 4567")]
    [InlineData("+1 (650) 253-0000")]
    [InlineData("+44 (0)7911 123456")]
    [InlineData("0086 (0)138 1234 5678")]
    [InlineData("(010)12345678")]
    [InlineData("0991 456 7890")]
    public void FromE164_rebuilds_the_same_phone(string input)
    {
        Assert.True(Phone.TryParse(input, out var phone, out _));

        var rebuilt = Phone.FromE164(phone.E164);

        Assert.Equal(phone, rebuilt);
        Assert.Equal(phone.CountryCode, rebuilt.CountryCode);
        Assert.Equal(phone.NationalNumber, rebuilt.NationalNumber);
        Assert.Equal(phone.Kind, rebuilt.Kind);
    }

    [Fact]
    public void FromE164_rejects_a_stored_value_that_is_not_a_phone()
    {
        var error = Assert.Throws<FormatException>(() => Phone.FromE164("+8612012345678"));

        Assert.DoesNotContain("12012345678", error.Message);
    }

    [Fact]
    public void Written_forms_of_one_number_are_equal()
    {
        Assert.True(Phone.TryParse("＋８６ １３８ １２３４ ５６７８", out var fullWidth, out _));
        Assert.True(Phone.TryParse("0086-138-1234-5678", out var dashed, out _));

        Assert.Equal(fullWidth, dashed);
    }

    [Theory]
    [InlineData("013812345678", "+86 138 1234 5678")]
    [InlineData("010 1234 5678", "+86 10 1234 5678")]
    [InlineData("(0755) 8888-1234", "0086 (0)755 8888 1234")]
    public void Trunk_and_international_forms_of_one_number_are_equal(string national, string international)
    {
        Assert.True(Phone.TryParse(national, out var a, out _));
        Assert.True(Phone.TryParse(international, out var b, out _));

        Assert.Equal(a, b);
    }
}
