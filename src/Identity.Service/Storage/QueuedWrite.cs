using Identity.Service.Caching;
using Identity.Service.Errors;

namespace Identity.Service.Storage;

/// <summary>
/// A write waiting for <see cref="SqliteGroupCommit"/>. It is claimed by the writer or abandoned by its caller
/// (cancelled, or the busy timeout), never both, so an abandoned write never runs and a claimed one always answers.
/// </summary>
public abstract class QueuedWrite(CacheChange? change, CancellationToken cancellationToken)
{
    const int Queued = 0, Claimed = 1, Abandoned = 2;
    int state;

    public CacheChange? Change { get; } = change;

    public CancellationToken CancellationToken { get; } = cancellationToken;

    public bool Claim() => Interlocked.CompareExchange(ref state, Claimed, Queued) == Queued;

    public void Abandon()
    {
        if (Interlocked.CompareExchange(ref state, Abandoned, Queued) == Queued)
            Fail(CancellationToken.IsCancellationRequested ? new OperationCanceledException(CancellationToken) : new StoreBusyException(WaitLimit));
    }

    /// <summary>How long a write may wait for its turn (the store's busy timeout), for the message of a write that waited it out.</summary>
    public TimeSpan WaitLimit { get; init; }

    public abstract Task RunAsync(IdentityDbContext db);

    /// <summary>Acknowledges the write: called only after the transaction holding it committed.</summary>
    public abstract void Complete();

    public abstract void Fail(Exception exception);

    /// <summary>
    /// Answers the write cancelled instead of running it when its caller has given up (cancelled, or past its deadline):
    /// a write that never ran is never acknowledged. True when it was dropped.
    /// </summary>
    public bool DropIfCancelled()
    {
        if (!CancellationToken.IsCancellationRequested)
            return false;
        Fail(new OperationCanceledException(CancellationToken));
        return true;
    }
}
