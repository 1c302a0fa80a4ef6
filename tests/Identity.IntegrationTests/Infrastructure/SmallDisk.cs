using System.Diagnostics;

namespace Identity.IntegrationTests.Infrastructure;

/// <summary>A small tmpfs mounted for one test, to fill up and free again. Unmounted on dispose.</summary>
public sealed class SmallDisk : IAsyncDisposable
{
    readonly List<string> fillers = [];

    SmallDisk(string path) => Path = path;

    public string Path { get; }

    public static async Task<SmallDisk> MountAsync(int megabytes)
    {
        var path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "identity-tests", "disk-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(path);
        var (code, output) = await RunAsync("mount", "-t", "tmpfs", "-o", $"size={megabytes}m,mode=0700", "tmpfs", path);
        if (code != 0)
        {
            Directory.Delete(path);
            throw new InvalidOperationException($"Could not mount a {megabytes} MB tmpfs at {path} (exit {code}): {output.Trim()}. "
                + "This test needs root with permission to mount (in a container: CAP_SYS_ADMIN).");
        }
        return new SmallDisk(path);
    }

    /// <summary>Writes filler files until the file system refuses another byte.</summary>
    public void Fill()
    {
        foreach (var chunk in (int[])[1 << 20, 64 << 10, 4 << 10, 512, 1])
        {
            var filler = System.IO.Path.Combine(Path, $"filler-{fillers.Count}");
            fillers.Add(filler);
            try
            {
                using var stream = new FileStream(filler, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1);
                var bytes = new byte[chunk];
                while (true)
                {
                    stream.Write(bytes);
                    stream.Flush(flushToDisk: true);
                }
            }
            catch (IOException)
            {
                // full at this granularity; try a smaller one
            }
        }
    }

    public void Free()
    {
        foreach (var filler in fillers)
            File.Delete(filler);
        fillers.Clear();
    }

    public async ValueTask DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        await RunAsync("umount", "-l", Path);
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    static async Task<(int Code, string Output)> RunAsync(string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync() + await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, output);
    }
}
