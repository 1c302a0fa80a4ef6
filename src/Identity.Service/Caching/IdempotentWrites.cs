using Google.Protobuf;
using Identity.Service.Errors;
using Identity.Service.Storage;
using Identity.Service.Telemetry;

namespace Identity.Service.Caching;

/// <summary>
/// The one way an idempotent RPC writes: look the key up, run the use case once, keep its reply (or its remembered
/// refusal) under the key in the same transaction, then invalidate the caches. Every idempotent RPC goes through here.
/// </summary>
public sealed class IdempotentWrites(CachedWrites writes, IdentityStore store, TimeProvider clock, LoyaltyMetrics metrics)
{
    /// <summary>
    /// A repeat that can no longer be run, only replayed (its date has aged out of the late-order window since it was
    /// recorded, <see cref="Loyalty.LateRepeats"/>): the reply kept under <paramref name="key"/>, through
    /// <paramref name="replayed"/>. Nothing kept under the key: <paramref name="refusal"/>, the reason it cannot be run,
    /// before anything else is looked at. Otherwise <paramref name="guard"/> runs, and the same key with another
    /// request or a kept refusal is answered, as in <see cref="RunAsync{TResult, TReply}(IdempotencyKey, Func{IdentityDbContext, CacheChange, CancellationToken, Task{TResult}}, Func{TResult, TReply}, Func{TReply, TReply}, CancellationToken, Func{IdentityDbContext, CancellationToken, Task}?, bool, string?)"/>.
    /// </summary>
    public async Task<TReply> ReplayAsync<TReply>(IdempotencyKey key, Func<TReply, TReply> replayed, IdentityException refusal,
        CancellationToken cancellationToken, Func<IdentityDbContext, CancellationToken, Task>? guard = null)
        where TReply : class, IMessage<TReply>, new()
    {
        var original = await store.ReadAsync(async (db, ct) =>
        {
            if (await Idempotency.FindRowAsync(db, key, ct) is not { } row)
                return null;
            if (guard is not null)
                await guard(db, ct);
            return (TReply?)Idempotency.Found(key, row, new MessageParser<TReply>(() => new TReply()));
        }, cancellationToken);
        if (original is null)
            throw refusal;
        metrics.Replayed(key.Rpc);
        return replayed(original);
    }

    /// <summary>Whether anything is kept under <paramref name="key"/> (a reply, or a refusal).</summary>
    public async Task<bool> IsKeptAsync(IdempotencyKey key, CancellationToken cancellationToken) =>
        await store.ReadAsync((db, ct) => Idempotency.FindRowAsync(db, key, ct), cancellationToken) is not null;

    /// <summary>
    /// Runs <paramref name="write"/> once per key and returns its reply built by <paramref name="reply"/>; a repeat gets
    /// the stored reply through <paramref name="replayed"/>. <paramref name="guard"/>, when given, runs first on every
    /// call, repeats included (a refund checks the stored order is the caller's before anything is told). With
    /// <paramref name="lookupInWrite"/>, the use case looks the key up itself, with its own first reads
    /// (<see cref="KeptReply.LookupStatement"/>): one statement fewer for the write the service runs most, the order.
    /// <paramref name="member"/>, when the caller knows whom the write is about, lets writes about one member share a
    /// transaction (<see cref="IdentityStore"/>).
    /// </summary>
    public async Task<TReply> RunAsync<TResult, TReply>(
        IdempotencyKey key,
        Func<IdentityDbContext, CacheChange, CancellationToken, Task<TResult>> write,
        Func<TResult, TReply> reply,
        Func<TReply, TReply> replayed,
        CancellationToken cancellationToken,
        Func<IdentityDbContext, CancellationToken, Task>? guard = null,
        bool lookupInWrite = false,
        string? member = null)
        where TReply : class, IMessage<TReply>, new()
    {
        var (result, refusal) = await writes.WriteAsync<(TReply?, IdentityException?)>(async (db, change, ct) =>
        {
            if (guard is not null)
                await guard(db, ct);
            // Looked up by primary key inside the transaction: on SQLite's single writer the transaction is the lock, one
            // read costs less than a savepoint pair around an insert-first, and a repeat (most of a resent till queue)
            // is answered without running the use case.
            var parser = new MessageParser<TReply>(() => new TReply());
            if (!lookupInWrite && await Idempotency.FindAsync(db, key, parser, ct) is { } original)
            {
                metrics.Replayed(key.Rpc);
                return (replayed(original), null);
            }
            try
            {
                var now = clock.GetUtcNow();
                var kept = change.Reply = new KeptReply(key, now, r => reply((TResult)r), parser, lookupPending: lookupInWrite);
                var result = await write(db, change, ct);
                if (kept.LookupPending)
                    throw new InvalidOperationException($"The {key.Scope} write did not look its idempotency key up.");
                if (change.Reply?.Sent is TReply sent)
                    return (sent, null);
                var built = reply(result);
                await Idempotency.RememberAsync(db, key, built, now, ct);
                return (built, null);
            }
            catch (KeyReplayed found)
            {
                metrics.Replayed(key.Rpc);
                return (replayed((TReply)found.Original), null);
            }
            catch (IdentityException refused) when (refused.Remembered)
            {
                // Kept with whatever the use case already did (points that expired on the way): a repeat is refused alike.
                // A remembered refusal is a debit an account could not cover: the member is the account's owner.
                var owners = db.ChangeTracker.Entries<LoyaltyAccountRecord>().Select(e => e.Entity.MemberId).Distinct().ToList();
                Idempotency.RememberRefusal(db, key, refused, owners.Count == 1 ? owners[0] : null, clock.GetUtcNow());
                return (null, refused);
            }
        }, member, cancellationToken);
        return refusal is null ? result! : throw refusal;
    }

    /// <summary>A write whose key is in the data itself (a check-in's brand-local day): run once, nothing kept.</summary>
    public Task<TReply> RunAsync<TResult, TReply>(Func<IdentityDbContext, CacheChange, CancellationToken, Task<TResult>> write, Func<TResult, TReply> reply,
        CancellationToken cancellationToken) =>
        writes.WriteAsync(async (db, change, ct) => reply(await write(db, change, ct)), cancellationToken);
}
