using Google.Rpc;

namespace Identity.Service.Errors;

/// <summary>Collects every problem with a request so the caller learns them all at once, then throws one INVALID_ARGUMENT.</summary>
public sealed class FieldViolations
{
    /// <summary>0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z: the instants a Timestamp may hold.</summary>
    const long MinTimestampSeconds = -62_135_596_800;
    const long MaxTimestampSeconds = 253_402_300_799;

    readonly List<BadRequest.Types.FieldViolation> violations = [];

    public bool Any => violations.Count > 0;

    public void Add(string field, string description) =>
        violations.Add(new BadRequest.Types.FieldViolation { Field = field, Description = description });

    /// <summary>Checks a required, bounded string; returns it trimmed, or null after recording the violation.</summary>
    public string? Required(string field, string? value, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            Add(field, "is required");
            return null;
        }
        return Optional(field, value, maxLength);
    }

    /// <summary>Checks an optional, bounded string; empty becomes null.</summary>
    public string? Optional(string field, string? value, int maxLength)
    {
        if (string.IsNullOrWhiteSpace(value))
            return null;
        var trimmed = value.Trim();
        if (trimmed.Length > maxLength)
        {
            Add(field, $"must be at most {maxLength} characters (got {trimmed.Length})");
            return null;
        }
        if (trimmed.Any(char.IsControl))
        {
            Add(field, "must not contain control characters");
            return null;
        }
        return trimmed;
    }

    /// <summary>Checks that a proto enum value is one this server knows (proto3 passes unknown numbers through).</summary>
    public bool KnownEnum<TEnum>(string field, TEnum value, bool required) where TEnum : struct, Enum
    {
        if (!Enum.IsDefined(value))
        {
            Add(field, $"has unknown value {Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture)}");
            return false;
        }
        if (required && Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture) == 0)
        {
            Add(field, "is required");
            return false;
        }
        return true;
    }

    /// <summary>
    /// Reads a <c>google.protobuf.Timestamp</c> field: null when absent, or after recording the violation when it is not a
    /// valid instant (seconds outside 0001-01-01..9999-12-31, nanos outside 0..999999999).
    /// </summary>
    public DateTimeOffset? Instant(string field, Google.Protobuf.WellKnownTypes.Timestamp? value)
    {
        if (value is null)
            return null;
        if (value.Seconds is < MinTimestampSeconds or > MaxTimestampSeconds || value.Nanos is < 0 or > 999_999_999)
        {
            Add(field, "is not a valid timestamp (seconds must fall in 0001-01-01..9999-12-31 UTC, nanos in 0..999999999)");
            return null;
        }
        return value.ToDateTimeOffset();
    }

    /// <summary>Checks that a present, valid instant falls in [<paramref name="from"/>, <paramref name="to"/>]; returns it unchanged.</summary>
    public DateTimeOffset? Within(string field, DateTimeOffset? value, DateTimeOffset from, DateTimeOffset to, string description, string? earlyReason = null)
    {
        if (value is { } at && (at < from || at > to))
            violations.Add(new BadRequest.Types.FieldViolation { Field = field, Description = description, Reason = at < from ? earlyReason ?? "" : "" });
        return value;
    }

    /// <summary>Checks an integer the caller sends against its documented range.</summary>
    public bool InRange(string field, long value, long min, long max)
    {
        if (value >= min && value <= max)
            return true;
        Add(field, $"must be between {min} and {max}");
        return false;
    }

    public void ThrowIfAny()
    {
        if (violations.Count > 0)
            throw IdentityException.Invalid(violations);
    }
}
