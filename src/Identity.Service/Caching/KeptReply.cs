using Google.Protobuf;
using Identity.Service.Storage;

namespace Identity.Service.Caching;

/// <summary>
/// The reply an idempotent write keeps under its key (<see cref="IdempotentWrites"/>), offered to the use case. A write
/// that sends its rows in one batch can build the reply from its result and send the key's row with them
/// (<see cref="Statement"/>), instead of a separate statement after its own. On PostgreSQL that is one round trip fewer
/// while the member's rows are locked. A use case that does not take the offer leaves the keeping to
/// <see cref="IdempotentWrites"/>, as before.
/// <para>
/// A use case may also take the key's lookup (<see cref="IdempotentWrites"/> then does not look the key up before it):
/// it sends <see cref="LookupStatement"/> with its first reads, after the rows it locks, and hands the row to
/// <see cref="Replay"/>; or it calls <see cref="LookUpAsync"/> before it changes anything. Either way the lookup comes
/// before the write changes anything.
/// </para>
/// </summary>
public sealed class KeptReply(IdempotencyKey key, DateTimeOffset now, Func<object, IMessage> build, MessageParser parser, bool lookupPending)
{
    /// <summary>The reply, once the use case has sent it with its rows.</summary>
    public IMessage? Sent { get; private set; }

    /// <summary>The use case has still to look the key up (<see cref="LookupStatement"/> or <see cref="LookUpAsync"/>).</summary>
    public bool LookupPending { get; private set; } = lookupPending;

    /// <summary>The statement that keeps <paramref name="result"/>'s reply, to send with the write's own statements.</summary>
    public (string Text, object?[] Values) Statement(object result, out IMessage reply)
    {
        reply = build(result);
        return Idempotency.RememberStatement(key, reply, now);
    }

    /// <summary>The statement from <see cref="Statement"/> was executed in the write's transaction.</summary>
    public void WasSent(IMessage reply) => Sent = reply;

    /// <summary>The statement that reads the key's record, to send with the write's first reads.</summary>
    public (string Text, object?[] Values) LookupStatement => Idempotency.LookupStatement(key);

    /// <summary>
    /// Takes the rows <see cref="LookupStatement"/> read. When the key was used before, the write stops here and the call
    /// is answered from what the key keeps (<see cref="KeyReplayed"/>), as if <see cref="IdempotentWrites"/> had found it
    /// first; a reused key or a kept refusal throws as it would there.
    /// </summary>
    public void Replay(IReadOnlyList<object?[]> rows)
    {
        LookupPending = false;
        if (Idempotency.Found(key, rows.Count > 0 ? rows[0] : null, parser) is { } original)
            throw new KeyReplayed(original);
    }

    /// <summary>Looks the key up now, when the use case has not sent the lookup with its reads (see <see cref="Replay"/>).</summary>
    public async Task LookUpAsync(IdentityDbContext db, CancellationToken ct)
    {
        if (!LookupPending)
            return;
        var (text, values) = LookupStatement;
        Replay(await new RawSql(db, ct).QueryAsync((text, values)) is [var rows] ? rows : []);
    }
}

/// <summary>The key was used before by the same request: the write stops, and its call is answered with <see cref="Original"/>.</summary>
public sealed class KeyReplayed(IMessage original) : Exception("The idempotency key was used before; the call is answered from it.")
{
    public IMessage Original { get; } = original;
}
