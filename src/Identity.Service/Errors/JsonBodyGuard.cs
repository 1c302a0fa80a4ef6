using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.Grpc.JsonTranscoding;

namespace Identity.Service.Errors;

/// <summary>
/// Checks the JSON body of a call on the Http endpoint against the request message before JSON transcoding reads it.
/// On its own, transcoding skips properties the message does not have (a typo such as <c>storeID</c> or <c>paidTime</c>
/// would record the order without its store and dated now), and answers a body of the wrong shape with a bare
/// "not correctly formatted" and no details. Here both are INVALID_ARGUMENT with ErrorInfo <c>MALFORMED_REQUEST</c>
/// and a BadRequest naming the field (<c>orders[3].amount_fen</c>), as the gRPC endpoint answers bytes that do not parse.
/// A well-formed body goes on untouched.
/// </summary>
public sealed class JsonBodyGuard(RequestDelegate next, MalformedRequestLog log)
{
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<GrpcJsonTranscodingMetadata>() is not { HttpRule.Body: { Length: > 0 } body } json
            || context.Request.ContentLength == 0)
        {
            await next(context);
            return;
        }

        // At most one byte over the largest request the service takes: a larger body is left to transcoding, which refuses it.
        var limit = Hosting.IdentityApp.MaxRequestBytes(json.MethodDescriptor.Service.FullName);
        context.Request.EnableBuffering();
        var bytes = new MemoryStream();
        try
        {
            var chunk = new byte[16 * 1024];
            int read;
            while (bytes.Length <= limit && (read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
                bytes.Write(chunk, 0, read);
        }
        catch (Exception exception) when (exception is (IOException and not BadHttpRequestException) or OperationCanceledException)
        {
            return; // the client went away mid-request: there is no one to answer
        }
        context.Request.Body.Position = 0;
        var problem = bytes.Length > limit || IsBlank(bytes) ? null : Check(json.MethodDescriptor.InputType, body, bytes.ToArray());
        if (problem is not { } found)
        {
            await next(context);
            return;
        }
        log.Refused("json", json.MethodDescriptor.FullName, found.Field is null ? found.Description : $"{found.Field} {found.Description}");
        var message = found.Field is null
            ? $"The request body is not a valid {json.MethodDescriptor.InputType.FullName} in JSON: {found.Description}."
            : $"The request body is not a valid {json.MethodDescriptor.InputType.FullName} in JSON: {found.Field} {found.Description}.";
        await JsonErrors.WriteAsync(context, MalformedRequests.ToStatus(message, found.Field, found.Description));
    }

    static bool IsBlank(MemoryStream bytes) => bytes.GetBuffer().AsSpan(0, (int)bytes.Length).Trim(" \t\r\n"u8).IsEmpty;

    /// <summary>What is wrong with the body, or null: the first fault, with the field it is in when one can be named.</summary>
    public static (string? Field, string Description)? Check(MessageDescriptor request, string body, byte[] json)
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
        {
            if (body == "*")
                return Message(request, document.RootElement, "");
            var field = request.FindFieldByName(body);
            return field is null ? null : document.RootElement.ValueKind == JsonValueKind.Null ? null : Field(field, document.RootElement, body);
        }
    }

    static (string?, string)? Message(MessageDescriptor message, JsonElement value, string path)
    {
        if (message.File.Package == "google.protobuf")
            return WellKnown(message, value, path);
        if (value.ValueKind != JsonValueKind.Object)
            return (Named(path), "must be a JSON object");
        var oneofs = new Dictionary<OneofDescriptor, string>();
        foreach (var property in value.EnumerateObject())
        {
            var field = message.FindFieldByName(property.Name) ?? message.Fields.InDeclarationOrder().FirstOrDefault(f => f.JsonName == property.Name);
            if (field is null)
                return (Join(path, property.Name), $"is not a field of {message.FullName}");
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
        FieldType.String => value.ValueKind == JsonValueKind.String ? null : (path, "must be a JSON string"),
        FieldType.Bool => value.ValueKind is JsonValueKind.True or JsonValueKind.False ? null : (path, "must be true or false"),
        FieldType.Bytes => value.ValueKind == JsonValueKind.String && IsBase64(value.GetString()!) ? null : (path, "must be a base64 string"),
        FieldType.Enum => Enum(field.EnumType, value, path),
        FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32 => Integer(value, path, int.MinValue, int.MaxValue),
        FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 => Integer(value, path, long.MinValue, long.MaxValue),
        FieldType.UInt32 or FieldType.Fixed32 => Integer(value, path, 0, uint.MaxValue),
        FieldType.UInt64 or FieldType.Fixed64 => Integer(value, path, 0, ulong.MaxValue),
        _ => value.ValueKind == JsonValueKind.Number
             || (value.ValueKind == JsonValueKind.String && (value.GetString() is "NaN" or "Infinity" or "-Infinity"
                 || double.TryParse(value.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
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
                 || !decimal.TryParse(value.GetString(), NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint | NumberStyles.AllowExponent,
                     CultureInfo.InvariantCulture, out number))
        {
            return (path, "must be a whole number (a JSON number, or a string of digits)");
        }
        return number == decimal.Truncate(number) && number >= min && number <= max ? null : (path, $"must be a whole number between {min} and {max}");
    }

    static (string?, string)? Enum(EnumDescriptor type, JsonElement value, string path)
    {
        if (value.ValueKind == JsonValueKind.String && type.FindValueByName(value.GetString()!) is not null)
            return null;
        if (value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out _))
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

    static bool IsBase64(string text)
    {
        var buffer = new byte[text.Length];
        return Convert.TryFromBase64String(text, buffer, out _)
               || Convert.TryFromBase64String(text.Replace('-', '+').Replace('_', '/').PadRight(text.Length + (4 - text.Length % 4) % 4, '='), new byte[text.Length + 3], out _);
    }

    static string Join(string path, string name) => path.Length == 0 ? name : path + "." + name;

    static string? Named(string path) => path.Length == 0 ? null : path;
}
