using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Google.Protobuf;
using Identity.Service.Errors;
using Identity.V1;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Storage;

/// <summary>
/// Keyed writes: the first call's result is kept with a hash of its payload. A repeat with the same payload gets the
/// original result back; the same key with another payload is ALREADY_EXISTS and changes nothing.
/// </summary>
public static class Idempotency
{
    public static async Task<T?> FindAsync<T>(IdentityDbContext db, string scope, string key, byte[] requestHash,
        MessageParser<T> parser, CancellationToken ct) where T : class, IMessage<T>
    {
        var record = await db.IdempotencyKeys.AsNoTracking().FirstOrDefaultAsync(k => k.Scope == scope && k.Key == key, ct);
        if (record is null)
            return null;
        if (!record.RequestHash.AsSpan().SequenceEqual(requestHash))
            IdentityException.ThrowAlreadyExists(ErrorReasons.IdempotencyKeyReused,
                $"The {scope} key '{key}' was already used with a different payload; use a new key for a new request.");
        if (record.FailureReason is { } reason)
            IdentityException.ThrowFailedPrecondition(reason, System.Text.Encoding.UTF8.GetString(record.Response));
        return parser.ParseFrom(record.Response);
    }

    /// <summary>
    /// Keeps a refusal that depends on the member's state, so that a retry with the same key gets the same answer
    /// instead of a different one later (a retried redemption must not succeed after the member earns more).
    /// </summary>
    public static IdentityException RememberFailure(IdentityDbContext db, string scope, string key, byte[] requestHash,
        string memberId, string reason, string message, DateTimeOffset now)
    {
        db.IdempotencyKeys.Add(new IdempotencyRecord
        {
            Scope = scope, Key = key, RequestHash = requestHash, MemberId = memberId, Response = Encoding.UTF8.GetBytes(message),
            FailureReason = reason, CreatedAt = now,
        });
        return IdentityException.FailedPrecondition(reason, message);
    }

    public static void Remember(IdentityDbContext db, string scope, string key, byte[] requestHash, IMessage response, DateTimeOffset now) =>
        db.IdempotencyKeys.Add(new IdempotencyRecord
        {
            Scope = scope, Key = key, RequestHash = requestHash, MemberId = MemberIdOf(response), Response = response.ToByteArray(), CreatedAt = now,
        });

    /// <summary>Every keyed write's response names its member in <c>member_id</c>; erasure finds the record by it.</summary>
    static string MemberIdOf(IMessage response) =>
        response.Descriptor.FindFieldByName("member_id")?.Accessor.GetValue(response) is string { Length: > 0 } id
            ? id
            : throw new InvalidOperationException($"{response.Descriptor.Name} does not name its member; erasure could not find it.");

    /// <summary>
    /// Records kept before they named their member get it from their response, so erasure finds them. A refusal does not
    /// name its member and is dropped instead (a retry of it is then decided afresh). Runs once, on upgrade.
    /// </summary>
    public static async Task BackfillMemberIdsAsync(IdentityStore store, CancellationToken cancellationToken)
    {
        const int Batch = 500;
        (string Scope, string Key)? after = null;
        while (true)
        {
            var done = await store.WriteAsync(async (db, ct) =>
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
                if (rows.Count > 0)
                    after = (rows[^1].Scope, rows[^1].Key);
                return rows.Count < Batch;
            }, cancellationToken);
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
        _ => null,
    };

    /// <summary>A stable hash of the fields that make a request what it is.</summary>
    public static byte[] Hash(params object?[] parts)
    {
        var text = string.Join('\u001f', parts.Select(p => Convert.ToString(p, CultureInfo.InvariantCulture) ?? "\u0000"));
        return SHA256.HashData(Encoding.UTF8.GetBytes(text));
    }
}
