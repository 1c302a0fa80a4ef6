namespace Identity.Service.Import;

/// <summary>Why a row was not imported: the field (as named in ImportRow), the reason code, and a detail without personal data.</summary>
public sealed record ImportRejection(string Field, string Reason, string Detail, string? OwnerMemberId = null);
