using Google.Rpc;

namespace Identity.Service.Errors;

/// <summary>Collects every problem with a request so the caller learns them all at once, then throws one INVALID_ARGUMENT.</summary>
public sealed class FieldViolations
{
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

    public void ThrowIfAny()
    {
        if (violations.Count > 0)
            throw IdentityException.Invalid(violations);
    }
}
