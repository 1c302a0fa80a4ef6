namespace Identity.Service.Members;

/// <summary>Profile fields to set; a field whose flag is false is left alone, a null value clears it.</summary>
public sealed record ProfileUpdate(bool SetName, string? Name, bool SetGender, int Gender, bool SetBirthday, string? Birthday);
