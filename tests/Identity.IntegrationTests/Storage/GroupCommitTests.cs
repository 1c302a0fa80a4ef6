using Identity.Service.Storage;
using Microsoft.EntityFrameworkCore;

namespace Identity.IntegrationTests.Storage;

/// <summary>
/// Group commit on the real store: writes queued together share one transaction, yet each is its own unit — a write
/// that fails (by throwing, or on a constraint) rolls back only what it did, and a write cancelled before its turn
/// never runs.
/// </summary>
public sealed class GroupCommitTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    readonly IdentityStore store = fixture.Server.Service<IdentityStore>();

    static CacheOutboxRecord Row(string key) => new() { Key = key, CreatedAt = DateTimeOffset.UtcNow };

    static IdempotencyRecord Key(string key) => new() { Scope = "group-test", Key = key, RequestHash = [1], Response = [1], CreatedAt = DateTimeOffset.UtcNow };

    Task<List<string>> KeysAsync(string prefix) =>
        store.ReadAsync((db, ct) => db.CacheOutbox.Where(r => r.Key.StartsWith(prefix)).Select(r => r.Key).ToListAsync(ct), CancellationToken.None);

    /// <summary>
    /// Holds the writer until released, so that the writes queued meanwhile wait and then commit as one group. Returns
    /// once the holder runs (a write queued before that could join the holder's own group).
    /// </summary>
    async Task<Task<int>> HoldWriterAsync(TaskCompletionSource release)
    {
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holder = store.WriteAsync(async (_, _) =>
        {
            running.SetResult();
            await release.Task;
            return 0;
        }, CancellationToken.None);
        await running.Task.WaitAsync(TimeSpan.FromSeconds(30));
        return holder;
    }

    [SqliteFact("group commit is SQLite's single-writer gate; on PostgreSQL each write is its own transaction, with no gate to hold")]
    public async Task A_failing_write_in_a_group_rolls_back_only_its_own_work()
    {
        var tag = "group:" + Guid.NewGuid().ToString("N") + ":";
        await store.WriteAsync((db, _) =>
        {
            db.IdempotencyKeys.Add(Key(tag));
            return Task.FromResult(0);
        }, CancellationToken.None);

        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holder = await HoldWriterAsync(release);
        var writes = Enumerable.Range(0, 48).Select(i => store.WriteAsync(async (db, ct) =>
        {
            db.CacheOutbox.Add(Row(tag + i));
            await db.SaveChangesAsync(ct); // saved inside the shared transaction before the failure below
            if (i % 3 == 1)
                throw new InvalidOperationException("refused by the use case");
            if (i % 3 == 2)
                db.IdempotencyKeys.Add(Key(tag)); // taken: this write's save fails on the constraint
            return i;
        }, CancellationToken.None)).ToList();
        release.SetResult();
        await holder;

        for (var i = 0; i < writes.Count; i++)
        {
            if (i % 3 == 0)
                Assert.Equal(i, await writes[i]);
            else if (i % 3 == 1)
                await Assert.ThrowsAsync<InvalidOperationException>(() => writes[i]);
            else
                await Assert.ThrowsAsync<DbUpdateException>(() => writes[i]);
        }
        var kept = await KeysAsync(tag);
        Assert.Equal(Enumerable.Range(0, 48).Where(i => i % 3 == 0).Select(i => tag + i).Order(), kept.Order());
    }

    [SqliteFact("group commit is SQLite's single-writer gate; on PostgreSQL each write is its own transaction, with no gate to hold")]
    public async Task A_write_cancelled_while_queued_never_runs_and_its_neighbours_commit()
    {
        var tag = "cancel:" + Guid.NewGuid().ToString("N") + ":";
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var holder = await HoldWriterAsync(release);
        using var cancel = new CancellationTokenSource();
        var before = store.WriteAsync((db, _) => Task.FromResult(db.CacheOutbox.Add(Row(tag + "before")).Entity.Key), CancellationToken.None);
        var cancelled = store.WriteAsync((db, _) => Task.FromResult(db.CacheOutbox.Add(Row(tag + "cancelled")).Entity.Key), cancel.Token);
        var after = store.WriteAsync((db, _) => Task.FromResult(db.CacheOutbox.Add(Row(tag + "after")).Entity.Key), CancellationToken.None);
        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled);
        release.SetResult();
        await Task.WhenAll(holder, before, after);
        Assert.Equal([tag + "after", tag + "before"], (await KeysAsync(tag)).Order());
    }
}
