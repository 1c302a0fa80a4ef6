namespace Identity.Cli.Commands;

/// <summary>Checks on a path the CLI reads, made before it is opened, so the refusal names the problem.</summary>
internal static class InputPath
{
    /// <summary>Refuses a directory (reading one fails with an "access denied" that does not say why); "-" is standard input.</summary>
    public static string File(string path, string what)
    {
        if (path != "-" && Directory.Exists(path))
            throw new UsageException($"{what} {path} is a directory, not a file");
        return path;
    }
}
