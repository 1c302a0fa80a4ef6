using System.Collections.Concurrent;
using System.Collections.Frozen;
using Identity.Service.Hosting;
using Identity.Service.Storage;
using Identity.Service.Telemetry;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Identity.Service.Caching;

/// <summary>
/// Makes every write reach every cache, whatever Redis does. Each instance reads the outbox every
/// <c>OutboxPollMilliseconds</c>: new rows drop its L1 copies (a second path beside Redis messages), and rows Redis has
/// not yet applied are applied by whichever instance reaches Redis first. Until a key's row is applied, Redis may hold
/// an old value for it, so reads of that key skip Redis ("pending"). Applied rows are deleted after a retention period.
/// </summary>
public sealed class InvalidationOutbox(IdentityStore store, L1Cache l1, RedisCache redis, CacheMetrics metrics,
    IOptions<CacheOptions> options, TimeProvider clock, ILogger<InvalidationOutbox> logger) : BackgroundService
{
    const int BatchSize = 2000;
    const int UnappliedBatchSize = 10_000;
    readonly CacheOptions settings = options.Value;

    // Keys this instance wrote whose invalidation has not yet been seen applied (key → Environment.TickCount64 of the commit).
    readonly ConcurrentDictionary<string, long> ownPending = new(StringComparer.Ordinal);

    // Keys of unapplied rows, as of the last read.
    volatile FrozenSet<string> storePending = FrozenSet<string>.Empty;

    // More unapplied keys than one read takes (a long outage with many writes): every key counts as pending.
    volatile bool pendingOverflow;

    // Rows this instance wrote: their keys were dropped from L1 at commit, so reading them back drops nothing again (a
    // second drop would only send hot keys back to the store).
    readonly ConcurrentDictionary<long, byte> ownRows = new();

    // Rows this instance applied to Redis right after the commit: marked applied at the next drain without repeating them.
    readonly ConcurrentQueue<long> appliedAtCommit = new();

    long lastSeenId = -1;
    long lastCleanup;

    // Ids below lastSeenId not read yet (id → when first missed). On PostgreSQL a transaction may commit after another
    // that took a later id from the sequence, so a row can appear behind the position; missing ids are asked for again
    // until they appear or GapSeconds pass (a rolled-back or retried write never fills its ids).
    readonly Dictionary<long, long> gaps = [];
    const int GapSeconds = 10;
    const int MaxGaps = 10_000;

    // Rows applied to Redis (here, or by their writer at commit) whose "applied" mark is not yet written: not pending, not
    // applied again. Touched only by the poll loop.
    readonly HashSet<long> appliedUnmarked = [];

    // The write that marks rows applied (and deletes old ones). It goes through the store's write queue, which can be long
    // under write load: the poll does not wait for it, so L1 and the pending set stay current however busy writers are.
    Task marking = Task.CompletedTask;

    // When the last read of the unapplied rows began (Environment.TickCount64); 0 before the first.
    long pendingReadAt;

    // When each unapplied row was first read here. A row is applied only once it has stayed unapplied for two polls: its
    // writer applies it at commit and marks it at its next poll, and applying it once more would drop the fresh copies
    // the write left (CacheChange.FreshSnapshots) in Redis and in every L1. Until applied, its keys are pending here
    // (reads skip Redis for them), so the wait costs store reads at most, never a stale answer.
    readonly Dictionary<long, long> unappliedSince = [];

    /// <summary>
    /// True when Redis may still hold an old value for the key: a write's invalidation is not yet applied there, or this
    /// instance cannot tell (it has not read the unapplied rows within the bound).
    /// </summary>
    public bool IsPending(string key) =>
        Environment.TickCount64 - Interlocked.Read(ref pendingReadAt) > settings.InvalidationBoundMilliseconds
        || pendingOverflow || ownPending.ContainsKey(key) || storePending.Contains(key);

    /// <summary>A write of this instance committed (called before its invalidation is tried).</summary>
    public long Committed(CacheChange change)
    {
        var at = Environment.TickCount64;
        foreach (var key in change.Keys.Keys)
            ownPending[key] = at;
        foreach (var row in change.Rows)
            ownRows.TryAdd(row.Id, 0);
        return at;
    }

    /// <summary>The write's invalidation reached Redis: its keys are current there, and its rows need not be applied again.</summary>
    public void AppliedAtCommit(CacheChange change, long committedAt)
    {
        foreach (var key in change.Keys.Keys)
            ownPending.TryRemove(KeyValuePair.Create(key, committedAt));
        foreach (var row in change.Rows)
            appliedAtCommit.Enqueue(row.Id);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        metrics.ObservePending(() => ownPending.Count + storePending.Count);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(Math.Max(10, settings.OutboxPollMilliseconds)));
        do
        {
            try
            {
                await PollAsync(stoppingToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // L1 stops answering once the bound passes without a successful read; the next tick tries again.
                Log.OutboxFailed(logger, exception);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    async Task PollAsync(CancellationToken ct)
    {
        var startedAt = Environment.TickCount64;
        if (lastSeenId < 0)
            lastSeenId = await store.ReadAsync((db, token) => db.CacheOutbox.MaxAsync(r => (long?)r.Id, token), ct) ?? 0;

        // New rows from any instance: drop the L1 copies (Redis messages usually got here first).
        foreach (var (id, since) in gaps.ToList())
            if (startedAt - since > GapSeconds * 1000)
                gaps.Remove(id);
        var missing = gaps.Keys.ToList();
        while (true)
        {
            var after = lastSeenId;
            var awaited = missing;
            missing = [];
            // The rows after the position (a range scan of the key), then those of the gaps (lookups by key), on one
            // connection. Not one statement with OR: PostgreSQL cannot read "Id > x OR Id = ANY(gaps)" by range, and
            // scanned the whole table and its dead row versions instead (16,000 buffers per read in the order run).
            var (fresh, filled) = await store.ReadAsync(async (db, token) =>
            {
                var range = await db.CacheOutbox.Where(r => r.Id > after).OrderBy(r => r.Id)
                    .Select(r => new OutboxRow(r.Id, r.Key)).Take(BatchSize).ToListAsync(token);
                var found = awaited.Count == 0 ? []
                    : await db.CacheOutbox.Where(r => EF.Parameter(awaited).Contains(r.Id))
                        .Select(r => new OutboxRow(r.Id, r.Key)).ToListAsync(token);
                return (range, found);
            }, ct);
            var dropped = 0;
            foreach (var row in filled.Concat(fresh))
            {
                if (row.Id > lastSeenId)
                {
                    for (var id = lastSeenId + 1; id < row.Id && gaps.Count < MaxGaps; id++)
                        gaps.TryAdd(id, startedAt);
                    lastSeenId = row.Id;
                }
                gaps.Remove(row.Id);
                if (!ownRows.TryRemove(row.Id, out _))
                {
                    foreach (var key in OutboxKeys.Keys(row.Key))
                    {
                        l1.Invalidate(key);
                        dropped++;
                    }
                }
            }
            if (dropped > 0)
                metrics.ReceivedThroughOutbox(dropped);
            if (fresh.Count < BatchSize)
                break;
        }

        // A row of ours that is still awaited behind the position (a gap: on PostgreSQL it committed after a later id)
        // stays ours until it is read, so that reading it does not drop this instance's fresh copies again.
        foreach (var id in ownRows.Keys)
            if (id <= lastSeenId && !gaps.ContainsKey(id))
                ownRows.TryRemove(id, out _);
        // Every row committed before this read began has dropped its L1 copies here.
        l1.Synced(startedAt);

        // Written as the partial index's own condition, so that SQLite reads the index rather than the table (PostgreSQL
        // matches its index's NOT "Applied" to the plain query).
        // At most UnappliedBatchSize keys (a packed row of an import names hundreds): beyond that, every key is pending.
        var (unapplied, overflow) = await store.ReadAsync(async (db, token) =>
        {
            var rows = new List<OutboxEntry>();
            var keys = 0;
            await foreach (var row in (store.IsPostgres ? db.CacheOutbox.Where(r => !r.Applied)
                               : db.CacheOutbox.FromSql($"SELECT * FROM cache_outbox WHERE \"Applied\" = 0"))
                           .OrderBy(r => r.Id).Select(r => new OutboxEntry(r.Id, r.Key, r.Version)).Take(UnappliedBatchSize)
                           .AsAsyncEnumerable().WithCancellation(token))
            {
                rows.Add(row);
                keys += row.KeyCount;
                if (keys >= UnappliedBatchSize)
                    return (rows, true);
            }
            return (rows, rows.Count == UnappliedBatchSize);
        }, ct);
        while (appliedAtCommit.TryDequeue(out var id))
            appliedUnmarked.Add(id);
        // Ids no longer unapplied were marked; an id applied at commit but not read yet (its row committed after this read
        // began) is applied once more by a later poll, which is harmless.
        appliedUnmarked.IntersectWith(unapplied.Select(r => r.Id));
        var open = unapplied.Where(r => !appliedUnmarked.Contains(r.Id)).ToList();
        storePending = open.SelectMany(r => OutboxKeys.Keys(r.Key)).ToFrozenSet(StringComparer.Ordinal);
        pendingOverflow = overflow;
        Interlocked.Exchange(ref pendingReadAt, startedAt);
        // Keys written here before this read began are now covered by what it read.
        foreach (var (key, at) in ownPending)
            if (at < startedAt)
                ownPending.TryRemove(KeyValuePair.Create(key, at));

        foreach (var row in open)
            unappliedSince.TryAdd(row.Id, startedAt);
        if (unappliedSince.Count > open.Count)
        {
            var stillOpen = open.Select(r => r.Id).ToHashSet();
            foreach (var id in unappliedSince.Keys.Where(id => !stillOpen.Contains(id)).ToList())
                unappliedSince.Remove(id);
        }
        var grace = 2L * Math.Max(10, settings.OutboxPollMilliseconds);
        var due = redis.IsConfigured ? open.Where(r => startedAt - unappliedSince[r.Id] >= grace).ToList() : open;
        if (due.Count > 0)
        {
            var toApply = due.SelectMany(r => OutboxKeys.Unpack(r.Key, r.Version))
                .GroupBy(e => e.Key).Select(g => KeyValuePair.Create(g.Key, g.Max(e => e.Value))).ToList();
            // Without Redis there is nothing to apply: rows only carry changes between instances.
            if (!redis.IsConfigured || (redis.IsUsable && await redis.InvalidateAsync(toApply)))
            {
                appliedUnmarked.UnionWith(due.Select(r => r.Id));
                storePending = open.Where(r => !appliedUnmarked.Contains(r.Id)).SelectMany(r => OutboxKeys.Keys(r.Key))
                    .ToFrozenSet(StringComparer.Ordinal);
                metrics.Applied(redis.IsConfigured ? toApply.Count : 0);
            }
        }

        if (marking.IsCompleted && (appliedUnmarked.Count > 0 || startedAt - lastCleanup > 5_000))
            marking = MarkAsync([.. appliedUnmarked], startedAt, ct);
    }

    sealed record OutboxRow(long Id, string Key);

    sealed record OutboxEntry(long Id, string Key, long Version)
    {
        /// <summary>How many keys the row names (one, or a packed row's lines).</summary>
        public int KeyCount => Key.AsSpan().Count('\n') + 1;
    }

    async Task MarkAsync(List<long> ids, long startedAt, CancellationToken ct)
    {
        try
        {
            if (ids.Count > 0)
                // One parameter (a JSON array on SQLite, an array on PostgreSQL), not one per id: an import marks thousands
                // of rows at once, and binding thousands of named parameters cost more than the update itself.
                await store.WriteAsync((db, token) => db.CacheOutbox.Where(r => EF.Parameter(ids).Contains(r.Id))
                    .ExecuteUpdateAsync(s => s.SetProperty(r => r.Applied, true), token), ct);
            if (startedAt - lastCleanup > 5_000)
            {
                lastCleanup = startedAt;
                var cutoff = clock.GetUtcNow().AddSeconds(-settings.OutboxRetentionSeconds);
                await store.WriteAsync((db, token) => db.CacheOutbox.Where(r => r.Applied && r.CreatedAt < cutoff).ExecuteDeleteAsync(token), ct);
            }
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // Marked by a later poll: until then the rows are only read, never applied again.
            Log.OutboxFailed(logger, exception);
        }
    }
}
