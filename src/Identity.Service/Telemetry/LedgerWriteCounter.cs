using System.Runtime.CompilerServices;
using Identity.Service.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Identity.Service.Telemetry;

/// <summary>
/// Counts ledger entries once they are saved, not when they are added: a write refused before its save (an
/// idempotent refusal, a bad request) or a save that fails counts nothing. Entries are tallied as a save begins and
/// recorded when it succeeds. (A commit that fails after a successful save, e.g. on a full disk, is still counted.)
/// </summary>
public sealed class LedgerWriteCounter(LoyaltyMetrics metrics) : SaveChangesInterceptor
{
    readonly ConditionalWeakTable<DbContext, Dictionary<int, int>> saving = new();

    public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        Tally(eventData.Context);
        return result;
    }

    public override ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result,
        CancellationToken cancellationToken = default)
    {
        Tally(eventData.Context);
        return ValueTask.FromResult(result);
    }

    public override int SavedChanges(SaveChangesCompletedEventData eventData, int result)
    {
        Record(eventData.Context);
        return result;
    }

    public override ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        Record(eventData.Context);
        return ValueTask.FromResult(result);
    }

    public override void SaveChangesFailed(DbContextErrorEventData eventData) => Forget(eventData.Context);

    public override Task SaveChangesFailedAsync(DbContextErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        Forget(eventData.Context);
        return Task.CompletedTask;
    }

    public override void SaveChangesCanceled(DbContextEventData eventData) => Forget(eventData.Context);

    public override Task SaveChangesCanceledAsync(DbContextEventData eventData, CancellationToken cancellationToken = default)
    {
        Forget(eventData.Context);
        return Task.CompletedTask;
    }

    void Tally(DbContext? context)
    {
        if (context is null)
            return;
        saving.Remove(context);
        Dictionary<int, int>? kinds = null;
        foreach (var entry in context.ChangeTracker.Entries<PointsEntryRecord>())
        {
            if (entry.State != EntityState.Added)
                continue;
            kinds ??= saving.GetValue(context, _ => []);
            kinds[entry.Entity.Kind] = kinds.GetValueOrDefault(entry.Entity.Kind) + 1;
        }
    }

    void Record(DbContext? context)
    {
        if (context is null || !saving.TryGetValue(context, out var kinds))
            return;
        saving.Remove(context);
        foreach (var (kind, count) in kinds)
            metrics.EntriesSaved(kind, count);
    }

    void Forget(DbContext? context)
    {
        if (context is not null)
            saving.Remove(context);
    }
}
