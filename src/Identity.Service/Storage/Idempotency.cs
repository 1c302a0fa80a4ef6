using System.Text;
using Google.Protobuf;
using Identity.Service.Errors;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Storage;

/// <summary>
/// Keyed writes, inside the write's own transaction: the first call's reply is kept with the request's fingerprint. A
/// repeat with the same fingerprint gets the original reply back; the same key with another fingerprint is
/// ALREADY_EXISTS and changes nothing. A refusal that depends on the member's state is kept too, so a repeat is refused
/// the same way rather than succeeding later.
/// </summary>
public static class Idempotency
{
    public static async Task<T?> FindAsync<T>(IdentityDbContext db, IdempotencyKey key, MessageParser<T> parser, CancellationToken ct)
        where T : class, IMessage<T>
    {
        var record = await db.IdempotencyKeys.AsNoTracking().FirstOrDefaultAsync(k => k.Scope == key.Scope && k.Key == key.Key, ct);
        if (record is null)
            return null;
        if (!record.RequestHash.AsSpan().SequenceEqual(key.Fingerprint))
            IdentityException.ThrowAlreadyExists(ErrorReasons.IdempotencyKeyReused,
                $"This {key.Scope} key was already used with a different request; send the same request to retry, or a new key for a new request.");
        if (record.FailureReason is { } reason)
            IdentityException.ThrowFailedPrecondition(reason, Encoding.UTF8.GetString(record.Response));
        return parser.ParseFrom(record.Response);
    }

    public static void Remember(IdentityDbContext db, IdempotencyKey key, IMessage response, DateTimeOffset now) =>
        db.IdempotencyKeys.Add(new IdempotencyRecord
        {
            Scope = key.Scope, Key = key.Key, RequestHash = key.Fingerprint, Response = response.ToByteArray(), CreatedAt = now,
        });

    public static void RememberRefusal(IdentityDbContext db, IdempotencyKey key, IdentityException refusal, DateTimeOffset now) =>
        db.IdempotencyKeys.Add(new IdempotencyRecord
        {
            Scope = key.Scope, Key = key.Key, RequestHash = key.Fingerprint, Response = Encoding.UTF8.GetBytes(refusal.Message),
            FailureReason = refusal.Reason, CreatedAt = now,
        });
}
