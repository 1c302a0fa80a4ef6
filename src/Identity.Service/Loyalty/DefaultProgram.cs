namespace Identity.Service.Loyalty;

/// <summary>The program shipped with the service (docs/program.md has it as a table); version 1 until a brand publishes its own.</summary>
public static class DefaultProgram
{
    public const int Version = 1;
    private const string ResourceName = "Identity.Service.Loyalty.default-program.json";

    private static readonly Lazy<string> Text = new(ReadResource);
    private static readonly Lazy<LoyaltyProgram> Program = new(Parse);

    /// <summary>The published text: what GetProgram returns for version 1.</summary>
    public static string Json => Text.Value;

    /// <summary>The parsed program, version 1 (one shared immutable instance).</summary>
    public static LoyaltyProgram Load() => Program.Value;

    private static string ReadResource()
    {
        using var stream = typeof(DefaultProgram).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The embedded resource {ResourceName} is missing from the build.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    // A problem here is a defect in the shipped file, caught by the unit tests; fail loudly rather than run without a program.
    private static LoyaltyProgram Parse()
    {
        var result = ProgramParser.Parse(Json);
        return result.Program is { } program && result.IsValid
            ? program with { Version = Version }
            : throw new InvalidOperationException("The shipped default program is invalid: " + string.Join("; ", result.Problems));
    }
}
