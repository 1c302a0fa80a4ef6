namespace Identity.Service.Phones;

/// <summary>What kind of line a phone is.</summary>
public enum PhoneKind
{
    /// <summary>A foreign number whose plan does not tell mobiles from fixed lines (e.g. +1).</summary>
    Unknown,
    Mobile,
    FixedLine,
}
