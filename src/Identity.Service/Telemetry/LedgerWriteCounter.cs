using System.Data.Common;
using System.Runtime.CompilerServices;
using Identity.Service.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Identity.Service.Telemetry;

/// <summary>
/// Counts ledger entries when they are committed, not when they are added: a write that fails, is rolled back or is
/// refused (an idempotent refusal keeps nothing of the ledger) counts nothing. Entries are tallied per context as each
/// save begins, kept once the save succeeds, and recorded when its transaction commits.
/// </summary>
public sealed class LedgerWriteCounter(LoyaltyMetrics metrics) : SaveChangesInterceptor, IDbTransactionInterceptor
{
    sealed class Tally
    {
        public readonly Dictionary<int, int> Saving = [];
        public readonly Dictionary<int, int> Saved = [];
    }

    readonly ConditionalWeakTable<DbContext, Tally> tallies = new();

    public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        Saving(eventData.Context);
        return result;
    }

    public override ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result,
        CancellationToken cancellationToken = default)
    {
        Saving(eventData.Context);
        return ValueTask.FromResult(result);
    }

    public override int SavedChanges(SaveChangesCompletedEventData eventData, int result)
    {
        Saved(eventData.Context);
        return result;
    }

    public override ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        Saved(eventData.Context);
        return ValueTask.FromResult(result);
    }

    public override void SaveChangesFailed(DbContextErrorEventData eventData) => Forget(eventData.Context, savedToo: false);

    public override Task SaveChangesFailedAsync(DbContextErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        Forget(eventData.Context, savedToo: false);
        return Task.CompletedTask;
    }

    public override void SaveChangesCanceled(DbContextEventData eventData) => Forget(eventData.Context, savedToo: false);

    public override Task SaveChangesCanceledAsync(DbContextEventData eventData, CancellationToken cancellationToken = default)
    {
        Forget(eventData.Context, savedToo: false);
        return Task.CompletedTask;
    }

    // A pooled context whose last transaction was disposed without a commit starts clean.
    public DbTransaction TransactionStarted(DbConnection connection, TransactionEndEventData eventData, DbTransaction result)
    {
        Forget(eventData.Context, savedToo: true);
        return result;
    }

    public ValueTask<DbTransaction> TransactionStartedAsync(DbConnection connection, TransactionEndEventData eventData, DbTransaction result,
        CancellationToken cancellationToken = default)
    {
        Forget(eventData.Context, savedToo: true);
        return ValueTask.FromResult(result);
    }

    public void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData) => Commit(eventData.Context);

    public Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Commit(eventData.Context);
        return Task.CompletedTask;
    }

    public void TransactionRolledBack(DbTransaction transaction, TransactionEndEventData eventData) => Forget(eventData.Context, savedToo: true);

    public Task TransactionRolledBackAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Forget(eventData.Context, savedToo: true);
        return Task.CompletedTask;
    }

    public void TransactionFailed(DbTransaction transaction, TransactionErrorEventData eventData) => Forget(eventData.Context, savedToo: true);

    public Task TransactionFailedAsync(DbTransaction transaction, TransactionErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        Forget(eventData.Context, savedToo: true);
        return Task.CompletedTask;
    }

    void Saving(DbContext? context)
    {
        if (context is null)
            return;
        Tally? tally = null;
        foreach (var entry in context.ChangeTracker.Entries<PointsEntryRecord>())
        {
            if (entry.State != EntityState.Added)
                continue;
            tally ??= tallies.GetOrCreateValue(context);
            tally.Saving[entry.Entity.Kind] = tally.Saving.GetValueOrDefault(entry.Entity.Kind) + 1;
        }
    }

    void Saved(DbContext? context)
    {
        if (context is null || !tallies.TryGetValue(context, out var tally))
            return;
        foreach (var (kind, count) in tally.Saving)
            tally.Saved[kind] = tally.Saved.GetValueOrDefault(kind) + count;
        tally.Saving.Clear();
        // Without a transaction of its own, a save is its own commit.
        if (context.Database.CurrentTransaction is null)
            Commit(context);
    }

    void Commit(DbContext? context)
    {
        if (context is null || !tallies.TryGetValue(context, out var tally))
            return;
        foreach (var (kind, count) in tally.Saved)
            metrics.EntriesCommitted(kind, count);
        tallies.Remove(context);
    }

    void Forget(DbContext? context, bool savedToo)
    {
        if (context is null || !tallies.TryGetValue(context, out var tally))
            return;
        tally.Saving.Clear();
        if (savedToo)
            tallies.Remove(context);
    }
}
