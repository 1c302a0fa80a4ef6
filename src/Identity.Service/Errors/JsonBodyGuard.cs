using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Grpc.JsonTranscoding;

namespace Identity.Service.Errors;

/// <summary>
/// Checks the JSON body of a call on the Http endpoint against the request message before JSON transcoding reads it,
/// and hands transcoding the request in canonical protobuf JSON (UTF-8). On its own, transcoding skips properties the
/// message does not have (a typo such as <c>storeID</c> or <c>paidTime</c> would record the order without its store and
/// dated now), answers a body of the wrong shape with a bare "not correctly formatted" and no details, refuses some
/// spellings the protobuf JSON mapping allows (an int32 as a string, <c>1e2</c>), and fails on a charset it does not
/// know. Here:
/// <list type="bullet">
/// <item>a body in the declared charset (UTF-8 by default, a byte order mark skipped; UTF-16, GB18030 and the other
/// charsets .NET reads) is decoded, and one that does not decode, or names a charset no one reads, is refused;</item>
/// <item>a property the message lacks, a value of the wrong shape, a property given twice, text that is not valid
/// Unicode, and anything else Google.Protobuf's parser refuses is INVALID_ARGUMENT with ErrorInfo <c>MALFORMED_REQUEST</c>
/// and a BadRequest naming the field when one can be named, as the gRPC endpoint answers bytes that do not parse;</item>
/// <item>a body larger than the service takes is RESOURCE_EXHAUSTED (HTTP 413), as on gRPC;</item>
/// <item>a well-formed body reaches transcoding as the same message, formatted by Google.Protobuf.</item>
/// </list>
/// </summary>
public sealed class JsonBodyGuard(RequestDelegate next, MalformedRequestLog log)
{
    static readonly JsonParser Parser = new(JsonParser.Settings.Default);
    static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default);

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<GrpcJsonTranscodingMetadata>() is not { HttpRule.Body: "*" } json)
        {
            await next(context);
            return;
        }

        var limit = Hosting.IdentityApp.MaxRequestBytes(json.MethodDescriptor.Service.FullName);
        var bytes = new MemoryStream();
        try
        {
            var chunk = new byte[16 * 1024];
            int read;
            while (bytes.Length <= limit && (read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
                bytes.Write(chunk, 0, read);
        }
        catch (BadHttpRequestException exception)
        {
            // The body's own framing is broken (a bad chunk, a length it does not keep): the caller's bytes.
            log.Refused("json", json.MethodDescriptor.FullName, exception.Message);
            if (!context.Response.HasStarted)
                await JsonErrors.WriteAsync(context, MalformedRequests.ToStatus($"The request body could not be read: {exception.Message}", null, null));
            return;
        }
        catch (Exception exception) when (exception is IOException or OperationCanceledException)
        {
            return; // the client went away mid-request: there is no one to answer
        }

        var method = json.MethodDescriptor;
        if (bytes.Length > limit)
        {
            log.Refused("json", method.FullName, $"a body over {limit} bytes");
            var status = new Google.Rpc.Status
            {
                Code = (int)Grpc.Core.StatusCode.ResourceExhausted,
                Message = $"The request body is larger than the {limit} bytes {method.Service.Name} takes.",
                Details = { Google.Protobuf.WellKnownTypes.Any.Pack(new Google.Rpc.ErrorInfo { Reason = ErrorReasons.RequestTooLarge, Domain = ErrorReasons.Domain }) },
            };
            await JsonErrors.WriteAsync(context, status, StatusCodes.Status413PayloadTooLarge);
            return;
        }

        var (request, problem) = Read(method.InputType, context.Request.ContentType, bytes.GetBuffer().AsSpan(0, (int)bytes.Length));
        problem ??= PathConflict(request!, context.Request.RouteValues);
        if (problem is { } found)
        {
            log.Refused("json", method.FullName, found.Field is null ? found.Description : $"{found.Field} {found.Description}");
            var message = found.Field is null
                ? $"The request body is not a valid {method.InputType.FullName} in JSON: {found.Description}."
                : $"The request body is not a valid {method.InputType.FullName} in JSON: {found.Field} {found.Description}.";
            await JsonErrors.WriteAsync(context, MalformedRequests.ToStatus(message, found.Field, found.Description));
            return;
        }

        var canonical = System.Text.Encoding.UTF8.GetBytes(Formatter.Format(request!));
        context.Request.Body = new MemoryStream(canonical, writable: false);
        context.Request.ContentLength = canonical.Length;
        context.Request.ContentType = "application/json; charset=utf-8";
        await next(context);
    }

    /// <summary>
    /// A field the route's path names (<c>/v1/members/{member_id}/profile</c>) that the body gives another value: the
    /// path would silently win, so the caller's mistake (another member's id in the body) is refused instead.
    /// </summary>
    static (string? Field, string Description)? PathConflict(IMessage request, RouteValueDictionary route)
    {
        foreach (var (name, value) in route)
        {
            if (request.Descriptor.FindFieldByName(name) is { FieldType: FieldType.String, IsRepeated: false } field
                && field.Accessor.GetValue(request) is string { Length: > 0 } inBody && !string.Equals(inBody, value?.ToString(), StringComparison.Ordinal))
                return (field.Name, "differs from the one in the path; leave it out of the body");
        }
        return null;
    }

    /// <summary>The request the body holds, or what is wrong with it: the first fault, with its field when one can be named.</summary>
    public static (IMessage? Request, (string? Field, string Description)? Problem) Read(MessageDescriptor descriptor, string? contentType, ReadOnlySpan<byte> body)
    {
        var charset = Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var type) && type.Charset.HasValue
            ? type.Charset.Value!.Trim('"')
            : "utf-8";
        System.Text.Encoding encoding;
        try
        {
            encoding = System.Text.Encoding.GetEncoding(charset, System.Text.EncoderFallback.ExceptionFallback, System.Text.DecoderFallback.ExceptionFallback);
        }
        catch (Exception exception) when (exception is ArgumentException or NotSupportedException)
        {
            return (null, (null, $"its charset {charset} is not one the service reads (send UTF-8)"));
        }
        // UTF-16 without an order named: the byte order mark decides, little-endian when there is none (as .NET reads it).
        if (encoding.CodePage == 1200 && body is [0xFE, 0xFF, ..])
            encoding = System.Text.Encoding.GetEncoding(1201, System.Text.EncoderFallback.ExceptionFallback, System.Text.DecoderFallback.ExceptionFallback);
        string text;
        try
        {
            text = encoding.GetString(body);
            if (text.StartsWith('\uFEFF'))
                text = text[1..]; // the byte order mark; a second U+FEFF would be content
        }
        catch (System.Text.DecoderFallbackException)
        {
            return (null, (null, $"it is not valid {encoding.WebName} text"));
        }
        if (string.IsNullOrWhiteSpace(text))
            text = "{}"; // no body: every field at its default, as an empty protobuf message
        var problem = Check(descriptor, text);
        if (problem is not null)
            return (null, problem);
        try
        {
            return (Parser.Parse(ForParser(text), descriptor), null);
        }
        catch (Exception exception) when (exception is InvalidProtocolBufferException or InvalidJsonException or FormatException or InvalidOperationException)
        {
            return (null, (null, exception.Message.TrimEnd('.')));
        }
    }

    /// <summary>
    /// The body as Google.Protobuf's parser takes every spelling the mapping allows: without null properties (a field's
    /// default, a oneof's other member included), and with whole numbers past 2^53 as strings (the parser reads a JSON
    /// number as a double, which would round them; the mapping takes a 64-bit integer as a number or a string alike).
    /// </summary>
    static string ForParser(string json)
    {
        var root = System.Text.Json.Nodes.JsonNode.Parse(json);
        Walk(root);
        return root?.ToJsonString() ?? "{}";

        static void Walk(System.Text.Json.Nodes.JsonNode? node)
        {
            if (node is System.Text.Json.Nodes.JsonObject properties)
            {
                foreach (var (name, value) in properties.ToList())
                {
                    if (value is null)
                        properties.Remove(name);
                    else if (Large(value) is { } text)
                        properties[name] = text;
                    else
                        Walk(value);
                }
            }
            else if (node is System.Text.Json.Nodes.JsonArray items)
            {
                for (var i = 0; i < items.Count; i++)
                {
                    if (Large(items[i]) is { } text)
                        items[i] = text;
                    else
                        Walk(items[i]);
                }
            }
        }

        static string? Large(System.Text.Json.Nodes.JsonNode? value) =>
            value is System.Text.Json.Nodes.JsonValue number && number.GetValueKind() == JsonValueKind.Number
            && number.ToJsonString() is var raw && raw.All(c => char.IsAsciiDigit(c) || c == '-') && raw.TrimStart('-').Length > 15
                ? raw
                : null;
    }

    /// <summary>What is wrong with the JSON text against the message, or null: the first fault, with its field when one can be named.</summary>
    public static (string? Field, string Description)? Check(MessageDescriptor request, string json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException exception)
        {
            return (null, "it is not JSON (" + exception.Message + ")");
        }
        using (document)
            return Message(request, document.RootElement, "");
    }

    static (string?, string)? Message(MessageDescriptor message, JsonElement value, string path)
    {
        if (message.File.Package == "google.protobuf")
            return WellKnown(message, value, path);
        if (value.ValueKind != JsonValueKind.Object)
            return (Named(path), "must be a JSON object");
        var oneofs = new Dictionary<OneofDescriptor, string>();
        var given = new HashSet<int>();
        foreach (var property in value.EnumerateObject())
        {
            if (Text(property) is not { } name)
                return (Named(path), "has a property name that is not valid Unicode text");
            var field = message.FindFieldByName(name) ?? message.Fields.InDeclarationOrder().FirstOrDefault(f => f.JsonName == name);
            if (field is null)
                return (Join(path, name), $"is not a field of {message.FullName}");
            if (!given.Add(field.FieldNumber))
                return (Join(path, field.Name), "is given twice");
            if (property.Value.ValueKind == JsonValueKind.Null)
                continue; // null is the field's default in protobuf JSON
            if (field.RealContainingOneof is { } oneof && !oneofs.TryAdd(oneof, field.Name))
                return (Join(path, field.Name), $"is set together with {oneofs[oneof]}; only one of {oneof.Name} may be set");
            if (Field(field, property.Value, Join(path, field.Name)) is { } problem)
                return problem;
        }
        return null;
    }

    static (string?, string)? Field(FieldDescriptor field, JsonElement value, string path)
    {
        if (field.IsMap)
        {
            if (value.ValueKind != JsonValueKind.Object)
                return (path, "must be a JSON object");
            var valueField = field.MessageType.FindFieldByNumber(2);
            foreach (var entry in value.EnumerateObject())
                if (Single(valueField, entry.Value, $"{path}[{entry.Name}]") is { } problem)
                    return problem;
            return null;
        }
        if (field.IsRepeated)
        {
            if (value.ValueKind != JsonValueKind.Array)
                return (path, "must be a JSON array");
            var index = 0;
            foreach (var item in value.EnumerateArray())
                if (Single(field, item, string.Create(CultureInfo.InvariantCulture, $"{path}[{index++}]")) is { } problem)
                    return problem;
            return null;
        }
        return Single(field, value, path);
    }

    static (string?, string)? Single(FieldDescriptor field, JsonElement value, string path) => field.FieldType switch
    {
        FieldType.Message or FieldType.Group => Message(field.MessageType, value, path),
        FieldType.String => value.ValueKind != JsonValueKind.String ? (path, "must be a JSON string")
            : Text(value) is null ? (path, "is not valid Unicode text") : null,
        FieldType.Bool => value.ValueKind is JsonValueKind.True or JsonValueKind.False ? null : (path, "must be true or false"),
        FieldType.Bytes => value.ValueKind == JsonValueKind.String && Text(value) is { } base64 && IsBase64(base64) ? null : (path, "must be a base64 string"),
        FieldType.Enum => Enum(field.EnumType, value, path),
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => Integer(value, path, int.MinValue, int.MaxValue),
        FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => Integer(value, path, long.MinValue, long.MaxValue),
        FieldType.UInt32 or FieldType.Fixed32 => Integer(value, path, 0, uint.MaxValue),
        FieldType.UInt64 or FieldType.Fixed64 => Integer(value, path, 0, ulong.MaxValue),
        _ => value.ValueKind == JsonValueKind.Number
             || (value.ValueKind == JsonValueKind.String && Text(value) is { } number && (number is "NaN" or "Infinity" or "-Infinity"
                 || double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
            ? null
            : (path, "must be a number"),
    };

    /// <summary>An integer: a JSON number or a string holding one (64-bit values travel as strings), within the type's range.</summary>
    static (string?, string)? Integer(JsonElement value, string path, decimal min, decimal max)
    {
        decimal number;
        if (value.ValueKind == JsonValueKind.Number)
        {
            if (!value.TryGetDecimal(out number))
                return (path, $"must be a whole number between {min} and {max}");
        }
        else if (value.ValueKind != JsonValueKind.String
                 || !decimal.TryParse(Text(value), NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
                     CultureInfo.InvariantCulture, out number))
        {
            return (path, "must be a whole number (a JSON number, or a string of digits)");
        }
        return number == decimal.Truncate(number) && number >= min && number <= max ? null : (path, $"must be a whole number between {min} and {max}");
    }

    static (string?, string)? Enum(EnumDescriptor type, JsonElement value, string path)
    {
        if (value.ValueKind == JsonValueKind.String && Text(value) is { } name && type.FindValueByName(name) is not null)
            return null;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out var number) && number == decimal.Truncate(number)
            && number is >= int.MinValue and <= int.MaxValue)
            return null;
        return (path, "must be one of " + string.Join(", ", type.Values.Select(v => v.Name)));
    }

    /// <summary>Timestamps, durations, wrappers and the like: whatever Google.Protobuf's own JSON parser takes.</summary>
    static (string?, string)? WellKnown(MessageDescriptor message, JsonElement value, string path)
    {
        try
        {
            new JsonParser(JsonParser.Settings.Default).Parse(value.GetRawText(), message);
            return null;
        }
        catch (Exception exception) when (exception is InvalidProtocolBufferException or InvalidJsonException or FormatException or InvalidOperationException)
        {
            return (Named(path), message.Name == "Timestamp"
                ? "must be an RFC 3339 time such as 2026-11-30T09:12:00Z"
                : $"is not a valid {message.FullName} ({exception.Message})");
        }
    }

    /// <summary>A string value as text, or null when its bytes or escapes are not valid Unicode (invalid UTF-8, a lone surrogate).</summary>
    static string? Text(JsonElement value)
    {
        try
        {
            return value.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    static string? Text(JsonProperty property)
    {
        try
        {
            return property.Name;
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    static bool IsBase64(string text)
    {
        var buffer = new byte[text.Length];
        return Convert.TryFromBase64String(text, buffer, out _)
               || Convert.TryFromBase64String(text.Replace('-', '+').Replace('_', '/').PadRight(text.Length + (4 - text.Length % 4) % 4, '='), new byte[text.Length + 3], out _);
    }

    static string Join(string path, string name) => path.Length == 0 ? name : path + "." + name;

    static string? Named(string path) => path.Length == 0 ? null : path;
}
