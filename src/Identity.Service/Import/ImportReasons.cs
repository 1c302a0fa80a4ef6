namespace Identity.Service.Import;

/// <summary>Reject reason codes, in their order of precedence: a row with several problems gets the first that applies.</summary>
public static class ImportReasons
{
    public const string DuplicateRow = "duplicate_row";
    public const string MissingIdentifier = "missing_identifier";
    public const string InvalidPhone = "invalid_phone";
    public const string InvalidPoints = "invalid_points";
    public const string InvalidBirthday = "invalid_birthday";
    public const string InvalidRegisteredAt = "invalid_registered_at";
    public const string InvalidField = "invalid_field";
    public const string IdentityConflict = "identity_conflict";

    public static IReadOnlyList<string> InPrecedence { get; } =
        [DuplicateRow, MissingIdentifier, InvalidPhone, InvalidPoints, InvalidBirthday, InvalidRegisteredAt, InvalidField, IdentityConflict];
}
