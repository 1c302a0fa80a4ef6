using System.Diagnostics;
using System.Text;

namespace Identity.IntegrationTests.Server;

/// <summary>
/// The README's CLI session, run twice on the same data with the real <c>identity</c> CLI: every line succeeds both
/// times, and every write replays the second time (no new member, no second credit or redemption).
/// </summary>
public sealed class ReadmeSessionTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    IdentityServer Server => fixture.Server;

    static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Identity.sln")))
            directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException("Identity.sln not found above the test binaries.");
    }

    /// <summary>The <c>identity …</c> lines of the README's "Try it with the CLI" section, in order.</summary>
    static List<string> SessionLines(string root)
    {
        var readme = File.ReadAllLines(Path.Combine(root, "README.md"));
        var start = Array.FindIndex(readme, l => l.StartsWith("## Try it with the CLI", StringComparison.Ordinal));
        Assert.True(start >= 0, "the README has no 'Try it with the CLI' section");
        var lines = new List<string>();
        var inCode = false;
        for (var i = start + 1; i < readme.Length && !readme[i].StartsWith("## ", StringComparison.Ordinal); i++)
        {
            var line = readme[i].Trim();
            if (line.StartsWith("```", StringComparison.Ordinal))
                inCode = !inCode;
            else if (inCode && line.StartsWith("identity ", StringComparison.Ordinal))
                lines.Add(line["identity ".Length..]);
        }
        return lines;
    }

    [Fact]
    public async Task Every_line_of_the_readme_session_succeeds_twice_and_every_write_replays()
    {
        var root = RepositoryRoot();
        var cli = new[] { "Release", "Debug" }.Select(c => Path.Combine(root, "src", "Identity.Cli", "bin", c, "net10.0", "identity.dll")).FirstOrDefault(File.Exists);
        Assert.True(cli is not null, "build the solution first: the CLI binary is missing");
        var lines = SessionLines(root);
        Assert.Contains(lines, l => l.StartsWith("order ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("redeem ", StringComparison.Ordinal));

        var outputs = new List<List<string>>();
        var balances = new List<long>();
        for (var round = 0; round < 2; round++)
        {
            var printed = new List<string>();
            foreach (var line in lines)
            {
                var memberId = line.Contains("<member id", StringComparison.Ordinal)
                    ? (await Server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = "13800138000" })).Member.MemberId
                    : null;
                var args = Split(memberId is null ? line : System.Text.RegularExpressions.Regex.Replace(line, "<member id[^>]*>", memberId));
                var (exit, output) = await RunAsync(cli!, args);
                Assert.True(exit == 0, $"round {round + 1}: `identity {line}` exited {exit}:\n{output}");
                printed.Add(output);
            }
            outputs.Add(printed);
            balances.Add((await Server.Loyalty.GetPointsAccountAsync(new GetPointsAccountRequest { Member = new MemberKey { Phone = "13800138000" } })).Balance);
        }

        for (var i = 0; i < lines.Count; i++)
        {
            var verb = lines[i].Split(' ')[0];
            var second = outputs[1][i];
            switch (verb)
            {
                case "enroll":
                    Assert.Contains("(existing)", second, StringComparison.Ordinal);
                    break;
                case "bind":
                    Assert.Contains("(already bound)", second, StringComparison.Ordinal);
                    break;
                case "order" or "redeem" or "adjust" or "refund":
                    Assert.True(second.Contains("(replayed)", StringComparison.Ordinal), $"`identity {lines[i]}` did not replay:\n{second}");
                    break;
            }
        }
        // The same points after the second round: nothing was credited or spent twice.
        Assert.True(balances[0] > 0);
        Assert.Equal(balances[0], balances[1]);
        Assert.Empty((await Server.Loyalty.VerifyLedgerAsync(new VerifyLedgerRequest())).Problems);
    }

    async Task<(int Exit, string Output)> RunAsync(string cli, IReadOnlyList<string> args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(cli);
        foreach (var arg in args)
            start.ArgumentList.Add(arg);
        start.Environment["IDENTITY_SERVER"] = Server.Address;
        start.Environment["IDENTITY_KEY"] = Server.TestKey;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>Splits a shell line into words, honouring double quotes (all the README uses).</summary>
    static List<string> Split(string line)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        var quoted = false;
        var inWord = false;
        foreach (var c in line)
        {
            if (c == '"')
            {
                quoted = !quoted;
                inWord = true;
            }
            else if (c == '#' && !quoted && !inWord)
            {
                break;
            }
            else if (char.IsWhiteSpace(c) && !quoted)
            {
                if (inWord)
                    words.Add(current.ToString());
                current.Clear();
                inWord = false;
            }
            else
            {
                current.Append(c);
                inWord = true;
            }
        }
        if (inWord)
            words.Add(current.ToString());
        return words;
    }
}
