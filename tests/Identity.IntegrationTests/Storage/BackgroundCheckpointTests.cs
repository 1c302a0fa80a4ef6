using System.Text;

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
