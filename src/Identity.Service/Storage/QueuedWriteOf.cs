using Identity.Service.Caching;

namespace Identity.Service.Storage;

/// <summary>A queued write and the result its caller awaits.</summary>
public sealed class QueuedWrite<T>(Func<IdentityDbContext, CancellationToken, Task<T>> write, CacheChange? change, CancellationToken cancellationToken)
    : QueuedWrite(change, cancellationToken)
{
    // Callers continue on the thread pool, never inline on the writer.
    readonly TaskCompletionSource<T> completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    T? value;

    public Task<T> Result => completion.Task;

    public override async Task RunAsync(IdentityDbContext db) => value = await write(db, CancellationToken);

    public override void Complete() => completion.TrySetResult(value!);

    public override void Fail(Exception exception)
    {
        if (exception is OperationCanceledException cancelled)
            completion.TrySetCanceled(cancelled.CancellationToken);
        else
            completion.TrySetException(exception);
    }
}
