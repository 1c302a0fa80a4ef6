using System.Text;

namespace Identity.LoadTest.Legacy;

/// <summary>Writes an export as RFC 4180 CSV: a header of column names, CRLF line ends, fields quoted when they hold a comma, quote or line break.</summary>
public static class LegacyCsv
{
    public static void Write(TextWriter writer, IEnumerable<LegacyLine> lines)
    {
        writer.Write(string.Join(',', LegacyColumns.All));
        writer.Write("\r\n");
        var builder = new StringBuilder(256);
        foreach (var line in lines)
        {
            builder.Clear();
            for (var i = 0; i < line.Values.Length; i++)
            {
                if (i > 0)
                    builder.Append(',');
                Append(builder, line.Values[i]);
            }
            builder.Append("\r\n");
            writer.Write(builder);
        }
    }

    static void Append(StringBuilder builder, string value)
    {
        if (value.AsSpan().IndexOfAny(",\"\r\n") < 0)
        {
            builder.Append(value);
            return;
        }
        builder.Append('"').Append(value.Replace("\"", "\"\"", StringComparison.Ordinal)).Append('"');
    }

    /// <summary>The encodings an export may be written in: UTF-8 (no BOM) or GB18030, common in CN exports.</summary>
    public static Encoding Encoding(string name)
    {
        System.Text.Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        return name.ToLowerInvariant() switch
        {
            "utf-8" or "utf8" => new UTF8Encoding(encoderShouldEmitUTF8Identifier: false),
            "gb18030" => System.Text.Encoding.GetEncoding("GB18030"),
            _ => throw new ArgumentException($"Unknown encoding '{name}': use utf-8 or gb18030.", nameof(name)),
        };
    }
}
