using System.Security.Cryptography;
using System.Text;
using Identity.Cli.Commands;

namespace Identity.Cli.Import;

/// <summary>
/// The file to import: its encoding, and a content hash that keys the derived import id. Both come from one pass over
/// the bytes before any row is sent, so a file that is not what <c>--encoding</c> says stops the command before the
/// server sees a garbled name, and a quote that is never closed (which would make the rest of the file one value of one
/// record) stops it before any row goes.
/// </summary>
internal sealed class InputFile
{
    public const string Utf8Name = "utf-8";
    public const string Gb18030Name = "gb18030";

    private InputFile(string path, Encoding encoding, string sha256, long length)
    {
        Path = path;
        Encoding = encoding;
        Sha256 = sha256;
        Length = length;
    }

    public string Path { get; }
    public Encoding Encoding { get; }

    /// <summary>Lower-case hex SHA-256 of the file's bytes.</summary>
    public string Sha256 { get; }

    public long Length { get; }

    public static Encoding EncodingOf(string name)
    {
        switch (name.Trim().ToLowerInvariant())
        {
            case "utf-8" or "utf8":
                return new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
            case "gb18030" or "gbk" or "gb2312":
                // GBK and GB2312 are subsets of GB18030: decoding with the superset reads them all.
                Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
                return Encoding.GetEncoding("GB18030", EncoderFallback.ExceptionFallback, DecoderFallback.ExceptionFallback);
            default:
                throw new UsageException($"--encoding: unknown encoding '{name}'; expected {Utf8Name} or {Gb18030Name}");
        }
    }

    /// <summary>Hashes the file and, for UTF-8, checks every byte sequence is valid UTF-8.</summary>
    public static InputFile Open(string path, string encodingName, CancellationToken cancellationToken)
    {
        var encoding = EncodingOf(encodingName);
        var checkUtf8 = encoding is UTF8Encoding;
        try
        {
            using var stream = new FileStream(InputPath.File(path, "the import file"), FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[1 << 20];
            var carry = 0;
            long offset = 0;
            var quotes = new QuoteTracker();
            int read;
            while ((read = stream.Read(buffer, carry, buffer.Length - carry)) > 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
                hash.AppendData(buffer, carry, read);
                quotes.Read(buffer.AsSpan(carry, read));
                var filled = carry + read;
                if (checkUtf8)
                {
                    var complete = CompletePrefix(buffer.AsSpan(0, filled));
                    if (FirstInvalidUtf8(buffer.AsSpan(0, complete)) is { } bad)
                        throw NotUtf8(path, offset + bad);
                    carry = filled - complete;
                    buffer.AsSpan(complete, carry).CopyTo(buffer);
                    offset += complete;
                }
            }
            if (checkUtf8 && carry > 0)
                throw NotUtf8(path, offset);
            if (quotes.OpenSinceLine is { } line)
                throw new UsageException($"{path}: the quote opened on line {line} is never closed, so every line after it would be read as one value; " +
                                         "close it, or double a quote inside a quoted value (\"\")");
            return new InputFile(path, encoding, Convert.ToHexStringLower(hash.GetHashAndReset()), stream.Length);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{path}: {ex.Message}");
        }
    }

    /// <summary>A reader of the text: a UTF-8 byte order mark is skipped, whatever the encoding says.</summary>
    public StreamReader OpenText(out Stream stream)
    {
        stream = new FileStream(Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan);
        return new StreamReader(stream, Encoding, detectEncodingFromByteOrderMarks: Encoding is UTF8Encoding, bufferSize: 1 << 16);
    }

    /// <summary>The length of the prefix that ends on a whole UTF-8 sequence (a chunk boundary may cut one).</summary>
    internal static int CompletePrefix(ReadOnlySpan<byte> chunk)
    {
        for (var back = 1; back <= Math.Min(4, chunk.Length); back++)
        {
            var b = chunk[^back];
            if ((b & 0xC0) == 0x80)
                continue; // a continuation byte: its lead is further back
            var needed = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
            return back < needed ? chunk.Length - back : chunk.Length;
        }
        return chunk.Length;
    }

    /// <summary>The offset of the first byte that is not valid UTF-8, or null.</summary>
    internal static long? FirstInvalidUtf8(ReadOnlySpan<byte> bytes)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes))
            return null;
        var offset = 0;
        while (offset < bytes.Length)
        {
            if (Rune.DecodeFromUtf8(bytes[offset..], out _, out var consumed) != System.Buffers.OperationStatus.Done)
                return offset;
            offset += consumed;
        }
        return null;
    }

    /// <summary>
    /// Follows the quotes of a CSV file over its bytes, as Sep reads them (a quote anywhere in a field opens or closes
    /// quoting; a doubled one does both). <c>"</c> and a line feed never occur inside a multi-byte character in UTF-8 or
    /// GB18030, so the bytes can be read without decoding.
    /// </summary>
    private sealed class QuoteTracker
    {
        private long line = 1;
        private long openedOn;
        private bool open;

        /// <summary>The line of the quote still open at the end of the file, or null when every quote is closed.</summary>
        public long? OpenSinceLine => open ? openedOn : null;

        public void Read(ReadOnlySpan<byte> bytes)
        {
            int next;
            while ((next = bytes.IndexOfAny((byte)'"', (byte)'\n')) >= 0)
            {
                if (bytes[next] == (byte)'\n')
                    line++;
                else if (open = !open)
                    openedOn = line;
                bytes = bytes[(next + 1)..];
            }
        }
    }

    private static UsageException NotUtf8(string path, long offset) =>
        new($"{path} is not UTF-8 (an invalid byte at offset {offset}); exports from Chinese systems are often GB18030: pass --encoding {Gb18030Name}");
}
