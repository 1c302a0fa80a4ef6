namespace Identity.Service.Members;

/// <summary>Profile values from a request; null means "not given".</summary>
public sealed record ProfileValues(string? Name, int? Gender, string? Birthday)
{
    public static readonly ProfileValues None = new(null, null, null);
}
