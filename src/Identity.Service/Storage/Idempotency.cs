using System.Text;
using Google.Protobuf;
using Identity.Service.Errors;
using Identity.V1;
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
        where T : class, IMessage<T> =>
        (T?)Found(key, await FindRowAsync(db, key, ct), parser);

    /// <summary>The key's record as <see cref="Found"/> reads it, or null when the key is new.</summary>
    public static async Task<object?[]?> FindRowAsync(IdentityDbContext db, IdempotencyKey key, CancellationToken ct)
    {
        // Every keyed write runs this first: plain SQL, the statement costs less than EF's query work around it.
        var (text, values) = LookupStatement(key);
        return await new RawSql(db, ct).ReadAsync(text, r => new object?[] { r.GetValue(0), r.GetValue(1), r.IsDBNull(2) ? null : r.GetString(2) }, values);
    }

    /// <summary>
    /// The statement that reads the key's record, for a write that sends it with its own reads
    /// (<see cref="Caching.KeptReply"/>); <see cref="Found"/> reads its row.
    /// </summary>
    public static (string Text, object?[] Values) LookupStatement(IdempotencyKey key) =>
        ("SELECT \"RequestHash\", \"Response\", \"FailureReason\" FROM idempotency_keys WHERE \"Scope\" = @p0 AND \"Key\" = @p1", [key.Scope, key.Key]);

    /// <summary>
    /// The reply kept under the key, from the row of <see cref="LookupStatement"/> (null: the key is new). The same key
    /// with another request is ALREADY_EXISTS; a kept refusal is refused again.
    /// </summary>
    public static IMessage? Found(IdempotencyKey key, object?[]? row, MessageParser parser)
    {
        if (row is null)
            return null;
        if (!((byte[])row[0]!).AsSpan().SequenceEqual(key.Fingerprint))
            IdentityException.ThrowAlreadyExists(ErrorReasons.IdempotencyKeyReused,
                $"This {key.Scope} key was already used with a different request; send the same request to retry, or a new key for a new request.");
        if (row[2] is string reason)
            IdentityException.ThrowFailedPrecondition(reason, Encoding.UTF8.GetString((byte[])row[1]!));
        return parser.ParseFrom((byte[])row[1]!);
    }

    /// <summary>Keeps the reply under the key (written at once, in the write's transaction).</summary>
    public static Task RememberAsync(IdentityDbContext db, IdempotencyKey key, IMessage response, DateTimeOffset now, CancellationToken ct)
    {
        var (text, values) = RememberStatement(key, response, now);
        return new RawSql(db, ct).ExecuteAsync(text, values);
    }

    /// <summary>
    /// The statement that keeps the reply under the key, returning the key: for a write that sends it with its own
    /// statements (<see cref="Caching.KeptReply"/>), one round trip fewer while it holds its rows.
    /// </summary>
    public static (string Text, object?[] Values) RememberStatement(IdempotencyKey key, IMessage response, DateTimeOffset now) =>
        ("INSERT INTO idempotency_keys (\"Scope\", \"Key\", \"RequestHash\", \"MemberId\", \"Response\", \"FailureReason\", \"CreatedAt\") "
            + "VALUES (@p0, @p1, @p2, @p3, @p4, NULL, @p5) RETURNING \"Key\"",
            [key.Scope, key.Key, key.Fingerprint, MemberIdOf(response), response.ToByteArray(), now.UtcTicks]);

    /// <summary>Keeps a refusal of a write about <paramref name="memberId"/> (erasure finds it by the member).</summary>
    public static void RememberRefusal(IdentityDbContext db, IdempotencyKey key, IdentityException refusal, string? memberId, DateTimeOffset now) =>
        db.IdempotencyKeys.Add(new IdempotencyRecord
        {
            Scope = key.Scope, Key = key.Key, RequestHash = key.Fingerprint, MemberId = memberId, Response = Encoding.UTF8.GetBytes(refusal.Message),
            FailureReason = refusal.Reason, CreatedAt = now,
        });

    /// <summary>
    /// Every keyed write's reply names its member, in <c>member_id</c> or in a <c>member</c> message; erasure finds the
    /// record by it.
    /// </summary>
    static string MemberIdOf(IMessage response) =>
        response.Descriptor.FindFieldByName("member_id")?.Accessor.GetValue(response) is string { Length: > 0 } id
            ? id
            : response.Descriptor.FindFieldByName("member")?.Accessor.GetValue(response) is IMessage member && member != response
                ? MemberIdOf(member)
                : throw new InvalidOperationException($"{response.Descriptor.Name} does not name its member; erasure could not find it.");

    /// <summary>
    /// Records kept before they named their member get it from their reply, so erasure finds them. A refusal does not
    /// name its member and is dropped instead (a retry of it is then decided afresh). Runs once, on upgrade.
    /// </summary>
    public static async Task BackfillMemberIdsAsync(IdentityStore store, CancellationToken cancellationToken)
    {
        const int Batch = 500;
        (string Scope, string Key)? after = null;
        while (true)
        {
            var (done, last) = await store.WriteAsync(async (db, ct) =>
            {
                var query = db.IdempotencyKeys.Where(k => k.MemberId == null);
                if (after is var (scope, key))
                    query = query.Where(k => k.Scope.CompareTo(scope) > 0 || (k.Scope == scope && k.Key.CompareTo(key) > 0));
                var rows = await query.OrderBy(k => k.Scope).ThenBy(k => k.Key).Take(Batch).ToListAsync(ct);
                foreach (var row in rows)
                {
                    if (row.FailureReason is not null)
                        db.IdempotencyKeys.Remove(row);
                    else if (ParserFor(row.Scope) is { } parser && MemberIdOf(parser.ParseFrom(row.Response)) is var memberId)
                        db.Entry(row).Property(r => r.MemberId).CurrentValue = memberId;
                }
                // Only a committed batch moves the position on (a PostgreSQL write may run again).
                return (rows.Count < Batch, rows.Count > 0 ? (rows[^1].Scope, rows[^1].Key) : after);
            }, cancellationToken);
            after = last;
            if (done)
                return;
        }
    }

    static MessageParser? ParserFor(string scope) => scope switch
    {
        "order" or "partner-order" => RecordOrderResponse.Parser,
        "refund" => RecordRefundResponse.Parser,
        "redeem" => RedeemPointsResponse.Parser,
        "adjust" => AdjustPointsResponse.Parser,
        "membership" => PurchaseMembershipResponse.Parser,
        "checkin" => CheckInResponse.Parser,
        "consent" => SetConsentResponse.Parser,
        _ => null,
    };
}
