using System.Text;

namespace Identity.Cli.Import;

/// <summary>Import ids: <c>A-Z a-z 0-9 . _ : -</c>, 1 to 64 characters (import.proto).</summary>
internal static class ImportIds
{
    public const int MaxLength = 64;

    /// <summary>
    /// The id of importing this file from this source: the source (its other characters as <c>_</c>), the start of the
    /// source's own SHA-256 (so that sources that read alike once their other characters are replaced, such as
    /// <c>crm 2019</c> and <c>crm_2019</c>, or <c>旧CRM</c> and <c>新CRM</c>, stay apart) and the start of the file's
    /// SHA-256. The same file and source give the same id, so a plain re-run or <c>--resume</c> continues the same
    /// import. A dry run gets its own id: it must never be taken for the real import.
    /// </summary>
    public static string Derive(string source, string fileSha256, bool dryRun)
    {
        var trimmed = source.Trim();
        var sourceHash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(trimmed)))[..8];
        var suffix = ":" + sourceHash + ":" + fileSha256[..16] + (dryRun ? ":dry-run" : "");
        var name = new StringBuilder();
        foreach (var c in trimmed)
            name.Append(IsAllowed(c) ? c : '_');
        if (name.Length > MaxLength - suffix.Length)
            name.Length = MaxLength - suffix.Length;
        return name + suffix;
    }

    public static bool IsValid(string id) => id.Length is > 0 and <= MaxLength && id.All(IsAllowed);

    private static bool IsAllowed(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or ':' or '-';
}
