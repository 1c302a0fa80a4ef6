using Google.Protobuf;
using Identity.Service.Errors;
using Identity.Service.Storage;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Caching;

/// <summary>
/// The one way an idempotent RPC writes: run the use case and keep its reply (or its remembered refusal) under the key in
/// the same transaction — or, when the key is already taken, answer what the first call answered — then invalidate the
/// caches. Every idempotent RPC goes through here.
/// </summary>
public sealed class IdempotentWrites(CachedWrites writes, TimeProvider clock)
{
    const string KeySavepoint = "key";

    /// <summary>
    /// Runs <paramref name="write"/> once per key and returns its reply built by <paramref name="reply"/>; a repeat gets
    /// the stored reply through <paramref name="replayed"/>. <paramref name="guard"/>, when given, runs first on every
    /// call, repeats included (a refund checks the stored order is the caller's before anything is told).
    /// </summary>
    public async Task<TReply> RunAsync<TResult, TReply>(
        IdempotencyKey key,
        Func<IdentityDbContext, CacheChange, CancellationToken, Task<TResult>> write,
        Func<TResult, TReply> reply,
        Func<TReply, TReply> replayed,
        CancellationToken cancellationToken,
        Func<IdentityDbContext, CancellationToken, Task>? guard = null)
        where TReply : class, IMessage<TReply>, new()
    {
        var (result, refusal) = await writes.WriteAsync<(TReply?, IdentityException?)>(async (db, change, ct) =>
        {
            if (guard is not null)
                await guard(db, ct);
            // Insert first: the key's row goes in with the write's own rows, in one save; finding it taken is how a repeat
            // is recognised, so a first call (the common case) pays no lookup. The savepoint undoes the run of a repeat.
            var transaction = db.Database.CurrentTransaction
                ?? throw new InvalidOperationException("An idempotent write runs inside the store's transaction.");
            await transaction.CreateSavepointAsync(KeySavepoint, ct);
            try
            {
                var outcome = await RunOnceAsync(db, change, key, write, reply, ct);
                await transaction.ReleaseSavepointAsync(KeySavepoint, ct);
                return outcome;
            }
            catch (Exception e) when (e is DbUpdateException taken && Idempotency.IsKeyTaken(taken) || e is IdentityException { Remembered: false })
            {
                // A repeat, or a call the use case refused: when the key was used before, its first answer stands (a
                // repeat whose member has since become unreachable still gets its original reply).
                db.ChangeTracker.Clear();
                change.Discard();
                await transaction.RollbackToSavepointAsync(KeySavepoint, ct);
                await transaction.ReleaseSavepointAsync(KeySavepoint, ct);
                if (await Idempotency.FindAsync(db, key, new MessageParser<TReply>(() => new TReply()), ct) is { } original)
                    return (replayed(original), null);
                throw;
            }
        }, cancellationToken);
        return refusal is null ? result! : throw refusal;
    }

    async Task<(TReply?, IdentityException?)> RunOnceAsync<TResult, TReply>(IdentityDbContext db, CacheChange change, IdempotencyKey key,
        Func<IdentityDbContext, CacheChange, CancellationToken, Task<TResult>> write, Func<TResult, TReply> reply, CancellationToken ct)
        where TReply : class, IMessage<TReply>, new()
    {
        try
        {
            var built = reply(await write(db, change, ct));
            Idempotency.Remember(db, key, built, clock.GetUtcNow());
            await db.SaveChangesAsync(ct);
            return (built, null);
        }
        catch (IdentityException refused) when (refused.Remembered)
        {
            // Kept with whatever the use case already did (points that expired on the way): a repeat is refused alike.
            // A remembered refusal is a debit an account could not cover: the member is the account's owner.
            var owners = db.ChangeTracker.Entries<LoyaltyAccountRecord>().Select(e => e.Entity.MemberId).Distinct().ToList();
            Idempotency.RememberRefusal(db, key, refused, owners.Count == 1 ? owners[0] : null, clock.GetUtcNow());
            await db.SaveChangesAsync(ct);
            return (null, refused);
        }
    }

    /// <summary>A write whose key is in the data itself (a check-in's brand-local day): run once, nothing kept.</summary>
    public Task<TReply> RunAsync<TResult, TReply>(Func<IdentityDbContext, CacheChange, CancellationToken, Task<TResult>> write, Func<TResult, TReply> reply,
        CancellationToken cancellationToken) =>
        writes.WriteAsync(async (db, change, ct) => reply(await write(db, change, ct)), cancellationToken);
}
