using System.Text;
using Microsoft.Data.Sqlite;

namespace Identity.IntegrationTests.Storage;

/// <summary>
/// SQLite's write-ahead log is copied into the database by a background checkpoint on its own connection, not by the
/// writer's commit. A committed member's row reaches the database file itself within a few intervals; with the
/// background checkpoint turned off, it stays in the log, since a few writes are far below the writer's own limit.
/// </summary>
public sealed class BackgroundCheckpointTests
{
    [SqliteFact("the write-ahead log and its checkpoints are SQLite's")]
    public async Task A_committed_write_reaches_the_database_file_without_the_writer_checkpointing()
    {
        Assert.True(await NameReachesTheDatabaseFileAsync(intervalMilliseconds: 100, wait: TimeSpan.FromSeconds(10)),
            "the member's row was not copied into the database file by the background checkpoint");
        Assert.False(await NameReachesTheDatabaseFileAsync(intervalMilliseconds: 0, wait: TimeSpan.FromSeconds(2)),
            "with the background checkpoint off, something else copied the log (the test could not tell the two apart)");
    }

    /// <summary>
    /// An erasure empties the log to zero bytes, so no earlier page image of the person survives in it. SQLite lets one
    /// checkpoint run at a time and answers any other "busy" at once, without waiting: here the server's own background
    /// checkpoint runs every millisecond and another connection checkpoints in a tight loop, as a second instance on
    /// the same file would. The erasure must wait its turn, not give up and leave the log as it was.
    /// </summary>
    [SqliteFact("the write-ahead log and its checkpoints are SQLite's")]
    public async Task An_erasure_empties_the_log_while_other_checkpoints_run_all_the_time()
    {
        await using var server = await IdentityServer.StartAsync(null, "--Identity:Database:CheckpointIntervalMilliseconds=1");
        var log = Path.Combine(server.DataDirectory, "identity.db-wal");
        using var stop = new CancellationTokenSource();
        var checkpoints = 0;
        var other = Task.Run(async () =>
        {
            await using var connection = new SqliteConnection($"Data Source={Path.Combine(server.DataDirectory, "identity.db")};Pooling=False");
            await connection.OpenAsync();
            while (!stop.IsCancellationRequested)
            {
                await using var command = connection.CreateCommand();
                command.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
                await command.ExecuteNonQueryAsync();
                checkpoints++;
            }
        });
        var left = new List<string>();
        try
        {
            for (var i = 0; i < 40; i++)
            {
                var name = "擦除" + Guid.NewGuid().ToString("N")[..12];
                var member = await server.Members.EnrollMemberAsync(new EnrollMemberRequest
                {
                    Phone = TestData.Phone(), Source = TestData.Pos(), Profile = new Profile { Name = name },
                });
                await server.Members.EraseMemberAsync(new EraseMemberRequest { MemberId = member.Member.MemberId, ReasonCode = ErasureReason.MemberRequest });
                if (File.Exists(log) && Contains(await ReadSharedAsync(log), Encoding.UTF8.GetBytes(name)))
                    left.Add(name);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await other;
        }
        Assert.True(checkpoints > 100, $"the other connection checkpointed only {checkpoints} times");
        Assert.True(left.Count == 0, $"{left.Count} of 40 erased names were still in the log: {string.Join(", ", left)}");
        Assert.DoesNotContain(server.Logs.Lines, line => line.Contains("could not be emptied", StringComparison.Ordinal));
    }

    static async Task<bool> NameReachesTheDatabaseFileAsync(int intervalMilliseconds, TimeSpan wait)
    {
        await using var server = await IdentityServer.StartAsync(null, $"--Identity:Database:CheckpointIntervalMilliseconds={intervalMilliseconds}");
        var name = "检查点" + Guid.NewGuid().ToString("N")[..12];
        await server.Members.EnrollMemberAsync(new EnrollMemberRequest
        {
            Phone = TestData.Phone(), Source = TestData.Pos(), Profile = new Profile { Name = name },
        });
        var needle = Encoding.UTF8.GetBytes(name);
        var file = Path.Combine(server.DataDirectory, "identity.db");
        var until = DateTime.UtcNow + wait;
        while (DateTime.UtcNow < until)
        {
            if (Contains(await ReadSharedAsync(file), needle))
                return true;
            await Task.Delay(100);
        }
        return false;
    }

    static async Task<byte[]> ReadSharedAsync(string path)
    {
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy);
        return copy.ToArray();
    }

    static bool Contains(byte[] haystack, byte[] needle) => haystack.AsSpan().IndexOf(needle) >= 0;
}
