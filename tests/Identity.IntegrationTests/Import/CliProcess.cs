using System.Diagnostics;

namespace Identity.IntegrationTests.Import;

/// <summary>The real <c>identity</c> CLI binary, run against a test server with the server's admin test key.</summary>
public static class CliProcess
{
    public static string Binary()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Identity.sln")))
            directory = directory.Parent;
        var root = directory?.FullName ?? throw new InvalidOperationException("Identity.sln not found above the test binaries.");
        return new[] { "Release", "Debug" }.Select(c => Path.Combine(root, "src", "Identity.Cli", "bin", c, "net10.0", "identity.dll")).FirstOrDefault(File.Exists)
               ?? throw new InvalidOperationException("build the solution first: the CLI binary is missing");
    }

    public static Process Start(IdentityServer server, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Binary());
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        start.Environment["IDENTITY_SERVER"] = server.Address;
        start.Environment["IDENTITY_KEY"] = server.TestKey;
        return Process.Start(start)!;
    }

    public static async Task<(int Exit, string Output, string Error)> RunAsync(IdentityServer server, params string[] args)
    {
        using var process = Start(server, args);
        return await WaitAsync(process, TimeSpan.FromSeconds(120));
    }

    public static async Task<(int Exit, string Output, string Error)> WaitAsync(Process process, TimeSpan timeout)
    {
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"the CLI did not finish within {timeout}:\n{await stdout}\n{await stderr}");
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Ctrl-C: SIGINT to the CLI process.</summary>
    public static void Interrupt(Process process)
    {
        using var kill = Process.Start("kill", ["-INT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }
}
