using Google.Protobuf;
using Identity.Service.Storage;

namespace Identity.Service.Caching;

/// <summary>
/// The reply an idempotent write keeps under its key (<see cref="IdempotentWrites"/>), offered to the use case: a write
/// that sends its rows in one batch can build the reply from its result and send the key's row with them
/// (<see cref="Statement"/>), instead of a separate statement after its own. On PostgreSQL that is one round trip fewer
/// while the member's rows are locked. A use case that does not take the offer leaves the keeping to
/// <see cref="IdempotentWrites"/>, as before.
/// </summary>
public sealed class KeptReply(IdempotencyKey key, DateTimeOffset now, Func<object, IMessage> build)
{
    /// <summary>The reply, once the use case has sent it with its rows.</summary>
    public IMessage? Sent { get; private set; }

    /// <summary>The statement that keeps <paramref name="result"/>'s reply, to send with the write's own statements.</summary>
    public (string Text, object?[] Values) Statement(object result, out IMessage reply)
    {
        reply = build(result);
        return Idempotency.RememberStatement(key, reply, now);
    }

    /// <summary>The statement from <see cref="Statement"/> was executed in the write's transaction.</summary>
    public void WasSent(IMessage reply) => Sent = reply;
}
