namespace Identity.IntegrationTests.Infrastructure;

/// <summary>A test that mounts file systems: it runs as root and is skipped, saying why, for anyone else.</summary>
public sealed class RootFactAttribute : FactAttribute
{
    public RootFactAttribute()
    {
        if (!OperatingSystem.IsLinux())
            Skip = "Skipped: mounting a small tmpfs needs Linux.";
        else if (Environment.UserName != "root" && !IsRootByUid())
            Skip = "Skipped: mounting a small tmpfs needs root; run the suite as root to exercise a full disk.";
    }

    /// <summary>Set for a test of the SQLite file on a small disk: it is skipped on the PostgreSQL pass, saying why.</summary>
    public string? SqliteOnly
    {
        get => null;
        init => Skip ??= TestStore.SqliteOnly(value ?? "");
    }

    static bool IsRootByUid() =>
        File.Exists("/proc/self/status")
        && File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal))?.Split('\t', StringSplitOptions.RemoveEmptyEntries) is [_, "0", ..];
}
