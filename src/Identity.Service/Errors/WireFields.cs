using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Identity.Service.Errors;

/// <summary>Walks protobuf wire bytes by their descriptor, to name the field a parse failure came from.</summary>
static class WireFields
{
    static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// The path (<c>member.phone</c>; <c>orders[3].order_id</c> in a repeated field, counted from 0) of the first string
    /// field that is not valid UTF-8, or null.
    /// </summary>
    public static string? FindInvalidUtf8(MessageDescriptor descriptor, byte[] bytes)
    {
        try
        {
            return Find(descriptor, bytes, prefix: "", depth: 0);
        }
        catch (Exception exception) when (exception is InvalidProtocolBufferException or ArgumentException)
        {
            return null;
        }
    }

    static string? Find(MessageDescriptor descriptor, byte[] bytes, string prefix, int depth)
    {
        if (depth > 16)
            return null;
        var input = new CodedInputStream(bytes);
        var seen = new Dictionary<int, int>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            var field = descriptor.FindFieldByNumber(WireFormat.GetTagFieldNumber(tag));
            if (field is null || WireFormat.GetTagWireType(tag) != WireFormat.WireType.LengthDelimited
                || field.FieldType is not (FieldType.String or FieldType.Message))
            {
                input.SkipLastField();
                continue;
            }
            var value = input.ReadBytes().ToByteArray();
            var path = prefix + field.Name;
            if (field.IsRepeated)
            {
                var index = seen.GetValueOrDefault(field.FieldNumber);
                seen[field.FieldNumber] = index + 1;
                path += "[" + index.ToString(System.Globalization.CultureInfo.InvariantCulture) + "]";
            }
            if (field.FieldType == FieldType.String)
            {
                try
                {
                    StrictUtf8.GetCharCount(value);
                }
                catch (DecoderFallbackException)
                {
                    return path;
                }
            }
            else if (Find(field.MessageType, value, path + ".", depth + 1) is { } inner)
            {
                return inner;
            }
        }
        return null;
    }
}
