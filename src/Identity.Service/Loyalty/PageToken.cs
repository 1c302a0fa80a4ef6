using Identity.Service.Errors;

namespace Identity.Service.Loyalty;

/// <summary>Opaque page tokens: the last entry id of the page, base64url.</summary>
public static class PageToken
{
    /// <summary>Reads AIP-158 paging fields: the page size (0 = default, capped) and the position after a token.</summary>
    public static (int Size, long? Before) Read(FieldViolations v, int pageSize, string token, int defaultSize, int maxSize)
    {
        if (pageSize < 0)
            v.Add("page_size", "must not be negative");
        long? before = null;
        if (token.Length > 0)
        {
            if (TryDecode(token, out var id))
                before = id;
            else
                v.Add("page_token", "is not a token this service issued");
        }
        return (pageSize <= 0 ? defaultSize : Math.Min(pageSize, maxSize), before);
    }

    public static string Encode(long id) => Convert.ToBase64String(BitConverter.GetBytes(id ^ 0x5A5A_5A5A_5A5A_5A5A)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static bool TryDecode(string token, out long id)
    {
        id = 0;
        if (token.Length is 0 or > 16)
            return false;
        var base64 = token.Replace('-', '+').Replace('_', '/').PadRight(12, '=');
        Span<byte> bytes = stackalloc byte[9];
        if (!Convert.TryFromBase64String(base64, bytes, out var written) || written != 8)
            return false;
        id = BitConverter.ToInt64(bytes[..8]) ^ 0x5A5A_5A5A_5A5A_5A5A;
        return id > 0;
    }
}
