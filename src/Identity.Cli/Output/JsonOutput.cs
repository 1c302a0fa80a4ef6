using Google.Protobuf;

namespace Identity.Cli.Output;

internal static class JsonOutput
{
    // Default values are written too, so that scripts see `"created": false` rather than a missing field.
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default
        .WithFormatDefaultValues(true)
        .WithIndentation());

    public static void Write(TextWriter output, IMessage message) => output.WriteLine(Formatter.Format(message));
}
