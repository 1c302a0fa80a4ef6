using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Identity.Service.Loyalty;
using Identity.Service.Members;
using Identity.Service.Phones;
using Identity.Service.Storage;
using Identity.V1;
using Microsoft.Extensions.Options;

namespace Identity.Service.Import;

/// <summary>
/// Everything about a row that needs no store, in the order of precedence of the reject reasons (docs/import.md):
/// missing_identifier, invalid_phone, invalid_points, invalid_birthday, invalid_registered_at, invalid_field.
/// duplicate_row (first) and identity_conflict (last) need the store and are decided by <see cref="ImportBatchWriter"/>.
/// The phone is normalised by the same rules as EnrollMember and protected by the same blind index.
/// </summary>
public sealed class RowChecker(PhoneProtector protector, PhoneKeys keys, IOptions<ImportSettings> settings)
{
    /// <summary>
    /// Registrations before this day are data errors (no member system in scope predates it); the day is on the brand's
    /// calendar, as registration times are brand-local.
    /// </summary>
    static readonly DateOnly EarliestRegistration = new(1980, 1, 1);

    readonly byte[] hashKey = HKDF.DeriveKey(HashAlgorithmName.SHA256, keys.IndexKey, 32, info: "identity.import.rows.v1"u8.ToArray());

    public CheckedRow Check(ImportRow row, PointsExpiryPolicy policy, LoyaltyProgram program, DateTimeOffset now)
    {
        var key = string.IsNullOrWhiteSpace(row.SourceRowKey) ? null : row.SourceRowKey.Trim();
        var hash = Hash(row);
        var rejection = Validate(row, key, policy, program, now, out var valid);
        return new CheckedRow(row.RowNumber, key, hash, valid, rejection);
    }

    /// <summary>A keyed hash of the row as sent, without its position: an identical line anywhere hashes the same.</summary>
    byte[] Hash(ImportRow row)
    {
        // The row's own message, its number cleared for the moment (a copy per row cost more than the hash).
        var number = row.RowNumber;
        row.RowNumber = 0;
        try
        {
            var size = row.CalculateSize();
            var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(size);
            try
            {
                row.WriteTo(buffer.AsSpan(0, size));
                return HMACSHA256.HashData(hashKey, buffer.AsSpan(0, size));
            }
            finally
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            }
        }
        finally
        {
            row.RowNumber = number;
        }
    }

    ImportRejection? Validate(ImportRow row, string? key, PointsExpiryPolicy policy, LoyaltyProgram program, DateTimeOffset now, out ValidRow? valid)
    {
        valid = null;
        var unparsed = row.UnparsedFields;
        var hasPhone = !string.IsNullOrWhiteSpace(row.Phone);
        if (!hasPhone && string.IsNullOrWhiteSpace(row.ExternalId) && string.IsNullOrWhiteSpace(row.UnionId))
            return new("", ImportReasons.MissingIdentifier, "The row has no phone, external id or union id.");

        Phone? phone = null;
        if (hasPhone)
        {
            if (!Phone.TryParse(row.Phone, out var parsed, out var error))
                return new("phone", ImportReasons.InvalidPhone, $"The phone {error}.");
            phone = parsed;
        }

        if (unparsed.Contains("points_balance"))
            return new("points_balance", ImportReasons.InvalidPoints, "The points balance is not a whole number.");
        if (unparsed.Contains("points_expire_at"))
            return new("points_expire_at", ImportReasons.InvalidPoints, "The points expiry is not a date and time.");
        if (row.PointsBalance < 0)
            return new("points_balance", ImportReasons.InvalidPoints, "The points balance is negative.");
        if (row.PointsBalance > settings.Value.MaxPoints)
            return new("points_balance", ImportReasons.InvalidPoints, $"The points balance is over {settings.Value.MaxPoints}.");
        DateTimeOffset? rowExpiry = null;
        if (row.PointsExpireAt is { } expiry)
        {
            if (!TryInstant(expiry, out var at))
                return new("points_expire_at", ImportReasons.InvalidPoints, "The points expiry is not a valid instant.");
            if (policy != PointsExpiryPolicy.Program)
            {
                if (at <= now)
                    return new("points_expire_at", ImportReasons.InvalidPoints, "The points expiry is in the past.");
                rowExpiry = at;
            }
        }

        if (unparsed.Contains("birthday"))
            return new("birthday", ImportReasons.InvalidBirthday, "The birthday is not a date.");
        string? birthday = null;
        if (!string.IsNullOrWhiteSpace(row.Birthday))
        {
            var violations = new Errors.FieldViolations();
            birthday = MemberRequests.ReadBirthday(violations, "birthday", row.Birthday);
            if (birthday is null || (birthday.Length == 10 && DateOnly.ParseExact(birthday, "yyyy-MM-dd", CultureInfo.InvariantCulture) > BrandTime.LocalDate(program.TimeZone, now)))
                return new("birthday", ImportReasons.InvalidBirthday, "The birthday must be a past date YYYY-MM-DD (from 1900) or --MM-DD.");
        }

        if (unparsed.Contains("registered_at"))
            return new("registered_at", ImportReasons.InvalidRegisteredAt, "The registration time is not a date and time.");
        DateTimeOffset? registeredAt = null;
        if (row.RegisteredAt is { } registered)
        {
            if (!TryInstant(registered, out var at) || at > now || at < BrandTime.StartOfDay(program.TimeZone, EarliestRegistration))
                return new("registered_at", ImportReasons.InvalidRegisteredAt, "The registration time must be from 1980 up to now.");
            registeredAt = at;
        }

        if (InvalidField(row, key, program, now, unparsed, out var fields) is { } invalid)
            return invalid;

        valid = new ValidRow
        {
            Phone = phone,
            PhoneIndex = phone is { } p ? protector.BlindIndex(p) : null,
            PhoneCiphertext = phone is { } q ? protector.Encrypt(q) : null,
            Identities = fields.Identities,
            IdentityFields = fields.IdentityFields,
            Channel = fields.Channel,
            Name = fields.Name,
            Gender = (int)row.Gender,
            Birthday = birthday,
            RegisteredAt = registeredAt,
            StoreId = fields.StoreId,
            GuideId = fields.GuideId,
            Points = row.PointsBalance,
            PointsExpireAt = rowExpiry ?? PointsMath.ExpiresAt(program, now),
            GrowthTierHint = fields.GrowthTier,
            Growth = row.GrowthValue,
            PaidTierCode = fields.PaidTier,
            PaidExpiresAt = fields.PaidExpiresAt,
        };
        return null;
    }

    sealed class Fields
    {
        public List<IdentityKey> Identities { get; } = new(2);
        public List<string> IdentityFields { get; } = new(2);
        public int Channel { get; set; }
        public string? Name { get; set; }
        public string? StoreId { get; set; }
        public string? GuideId { get; set; }
        public string? GrowthTier { get; set; }
        public string? PaidTier { get; set; }
        public DateTimeOffset? PaidExpiresAt { get; set; }
    }

    ImportRejection? InvalidField(ImportRow row, string? key, LoyaltyProgram program, DateTimeOffset now, IList<string> unparsed, out Fields fields)
    {
        fields = new Fields();
        if (unparsed.Count > 0)
        {
            // Only names of the row's fields: the caller's other text is neither a field nor echoed back.
            if (unparsed.Any(name => !UnparsableFields.Contains(name)))
                return Field("unparsed_fields", "An entry of unparsed_fields names no field of ImportRow.");
            return Field(unparsed[0], "The value could not be read as its type.");
        }
        if (key is null)
            return Field("source_row_key", "The row key is required.");
        if (key.Length > ImportLimits.SourceRowKeyLength || key.Any(char.IsControl))
            return Field("source_row_key", $"The row key must be at most {ImportLimits.SourceRowKeyLength} characters, without control characters.");
        if (!System.Enum.IsDefined(row.Channel))
            return Field("channel", "The channel is not one this server knows.");
        if (!System.Enum.IsDefined(row.Gender))
            return Field("gender", "The gender is not one this server knows.");

        var channel = row.Channel == Channel.Unspecified ? (int)Channel.CrmImport : (int)row.Channel;
        fields.Channel = channel;
        if (Text(row.ExternalId, MemberLimits.ExternalIdLength, out var externalId) is false)
            return Field("external_id", $"The external id must be at most {MemberLimits.ExternalIdLength} characters, without control characters.");
        if (Text(row.UnionId, MemberLimits.ExternalIdLength, out var unionId) is false)
            return Field("union_id", $"The union id must be at most {MemberLimits.ExternalIdLength} characters, without control characters.");
        if (externalId is not null)
        {
            fields.Identities.Add(new IdentityKey(channel, externalId));
            fields.IdentityFields.Add("external_id");
        }
        if (unionId is not null && !(channel == (int)Channel.WechatUnion && unionId == externalId))
        {
            fields.Identities.Add(new IdentityKey((int)Channel.WechatUnion, unionId));
            fields.IdentityFields.Add("union_id");
        }

        if (Text(CollapseWhitespace(row.Name), MemberLimits.NameLength, out var name) is false)
            return Field("name", $"The name must be at most {MemberLimits.NameLength} characters, without control characters.");
        fields.Name = name;
        if (Text(row.StoreId, MemberLimits.StoreIdLength, out var store) is false)
            return Field("store_id", $"The store id must be at most {MemberLimits.StoreIdLength} characters, without control characters.");
        fields.StoreId = store;
        if (Text(row.GuideId, MemberLimits.GuideIdLength, out var guide) is false)
            return Field("guide_id", $"The guide id must be at most {MemberLimits.GuideIdLength} characters, without control characters.");
        fields.GuideId = guide;

        if (row.GrowthValue < 0 || row.GrowthValue > settings.Value.MaxGrowth)
            return Field("growth_value", $"The growth value must be from 0 to {settings.Value.MaxGrowth}.");

        DateTimeOffset? paidExpiry = null;
        if (row.PaidTierExpiresAt is { } paid)
        {
            if (!TryInstant(paid, out var at))
                return Field("paid_tier_expires_at", "The paid tier expiry is not a valid instant.");
            paidExpiry = at;
        }
        TierDefinition? hinted = null;
        if (!string.IsNullOrWhiteSpace(row.TierHint))
        {
            hinted = program.FindTier(row.TierHint.Trim());
            if (hinted is null)
                return Field("tier_hint", "The tier hint is not a tier code of the program in force.");
            if (hinted.Paid is not null && paidExpiry is null)
                return Field("tier_hint", "The tier hint names a paid tier; give paid_tier_expires_at with it.");
        }
        if (hinted is { Paid: null })
            fields.GrowthTier = hinted.Code;
        if (paidExpiry is { } expires && expires > now)
        {
            // A paid tier that ended in the legacy system is not carried over; one still running is held to its expiry.
            var paidTier = hinted is { Paid: not null } ? hinted : program.Tiers.FirstOrDefault(t => t.Paid is not null);
            if (paidTier is null)
                return Field("paid_tier_expires_at", "The program in force has no paid tier.");
            (fields.PaidTier, fields.PaidExpiresAt) = (paidTier.Code, expires);
        }
        return null;
    }

    /// <summary>The ImportRow fields a client may name in <c>unparsed_fields</c>: every field but the row number and the list itself.</summary>
    static readonly HashSet<string> UnparsableFields = ImportRow.Descriptor.Fields.InDeclarationOrder()
        .Select(f => f.Name).Where(n => n is not ("row_number" or "unparsed_fields")).ToHashSet(StringComparer.Ordinal);

    static ImportRejection Field(string field, string detail) => new(field, ImportReasons.InvalidField, detail);

    /// <summary>Null for empty, false when too long or holding control characters.</summary>
    static bool? Text(string? value, int maxLength, out string? text)
    {
        text = null;
        if (string.IsNullOrWhiteSpace(value))
            return null;
        var trimmed = value.Trim();
        if (trimmed.Length > maxLength || trimmed.Any(char.IsControl))
            return false;
        text = trimmed;
        return true;
    }

    /// <summary>Legacy names carry line breaks and tabs from free-text fields: any run of white space becomes one space.</summary>
    static string CollapseWhitespace(string value)
    {
        if (!value.Any(char.IsWhiteSpace))
            return value;
        var builder = new StringBuilder(value.Length);
        var pendingSpace = false;
        foreach (var c in value.Trim())
        {
            if (char.IsWhiteSpace(c))
            {
                pendingSpace = true;
                continue;
            }
            if (pendingSpace)
                builder.Append(' ');
            pendingSpace = false;
            builder.Append(c);
        }
        return builder.ToString();
    }

    static bool TryInstant(Timestamp timestamp, out DateTimeOffset at)
    {
        at = default;
        if (timestamp.Nanos is < 0 or > 999_999_999 || timestamp.Seconds < -62_135_596_800 || timestamp.Seconds > 253_402_300_799)
            return false;
        at = timestamp.ToDateTimeOffset();
        return true;
    }
}
