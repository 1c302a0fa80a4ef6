using Identity.Service.Caching;
using Identity.Service.Members;
using Identity.Service.Phones;
using Identity.Service.Storage;
using Identity.Service.Telemetry;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Loyalty.Writes;

/// <summary>
/// The common order, written in plain SQL on the write's own connection and transaction: a member the cache resolved
/// before the write, whom the lookup still names, with an account and no points due to expire. Orders are the busiest
/// write, and on SQLite's single writer EF's query and change-tracking work was most of an order's cost. The rules and
/// the rows are those of the general path (<see cref="OrderRecording"/>, which takes every other case). The cache
/// change is recorded here as <see cref="CacheChangeInterceptor"/> records it for the general path: the member's snapshot
/// key at its new version, in the outbox, in the same transaction. On PostgreSQL the member and account rows are read
/// <c>FOR UPDATE</c>, as <see cref="PostgresRowLocks"/> reads them.
/// </summary>
public sealed class DirectOrderWrite(ProgramCatalog catalog, CacheKeys keys, MemberCache cache, PhoneProtector protector, LoyaltyMetrics metrics,
    TimeProvider clock, Microsoft.Extensions.Options.IOptions<Hosting.IdentityOptions> options)
{
    readonly bool enabled = options.Value.Store.DirectOrderWrites;
    long directWrites;

    /// <summary>Orders this instance has written here rather than on the general path (since it started).</summary>
    public long Written => Interlocked.Read(ref directWrites);

    /// <summary>The order's result, or null (nothing written) when it is not the common case.</summary>
    public async Task<OrderResult?> TryRecordAsync(IdentityDbContext db, CacheChange change, OrderCommand command, CancellationToken ct)
    {
        if (!enabled || command.Resolved is not { Id: var id } || db.Database.CurrentTransaction is null)
            return null;
        // The snapshot this instance holds, taken before the reads: if the member row read below is still at its version,
        // its member part is current, and the order's new snapshot is that plus the account the order writes.
        var held = cache.Held(id);
        var sql = new RawSql(db, ct);
        var locked = sql.ForUpdate;
        var now = clock.GetUtcNow();
        // The program this instance holds; the batch below checks it is still the latest (else the general path reloads it).
        var program = catalog.Program;
        var from = now.AddMonths(-program.Growth.WindowMonths);

        // Everything the order reads, in two statements sent together (one round trip on PostgreSQL): the member and
        // its account, joined, and locked there from here to the commit; then whether a lot is due to expire, the growth
        // window, the latest program version, and whether the lookup still names the member within the caller's scope.
        // The second is a statement of its own so that on PostgreSQL it reads with a snapshot taken after the rows were
        // locked: it sees every order of this member committed while this one waited for the lock.
        var values = new List<object?> { id, now.UtcTicks, from.UtcTicks, LoyaltyAccounts.GrowthWindowEnd(now).UtcTicks };
        var checks = new System.Text.StringBuilder(
            "SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM points_lots WHERE \"MemberId\" = @p0 AND \"Remaining\" > 0 AND \"ExpiresAt\" <= @p1 LIMIT 1) d), "
            + "(SELECT SUM(\"Amount\") FROM growth_events WHERE \"MemberId\" = @p0 AND \"OccurredAt\" > @p2 AND \"OccurredAt\" <= @p3), "
            + "(SELECT MAX(\"Version\") FROM programs)");
        if (command.Member is MemberLookup.ByIdentity { Identity: var identity })
        {
            checks.Append(Invariant, $", (SELECT COUNT(*) FROM channel_identities WHERE \"Channel\" = @p{values.Count} AND \"ExternalId\" = @p{values.Count + 1} AND \"MemberId\" = @p0)");
            values.Add(identity.Channel);
            values.Add(identity.ExternalId);
        }
        if (command.Member.Scope is { Channel: var channel })
        {
            checks.Append(Invariant, $", (SELECT COUNT(*) FROM (SELECT 1 FROM channel_identities WHERE \"MemberId\" = @p0 AND \"Channel\" = @p{values.Count} LIMIT 1) s)");
            values.Add(channel);
        }
        var reads = new List<(string, object?[])>
        {
            ("SELECT m.\"State\", m.\"Version\", m.\"PhoneIndex\", m.\"Birthday\", m.\"CreatedAt\", a.\"GrowthTierCode\", a.\"AssessmentAt\", "
                + "a.\"PaidTierCode\", a.\"PaidExpiresAt\", a.\"Growth\", a.\"PointsBalance\", a.\"Version\", a.\"UpdatedAt\" "
                + $"FROM members m JOIN loyalty_accounts a ON a.\"MemberId\" = m.\"Id\" WHERE m.\"Id\" = @p0{locked}", [id]),
            (checks.ToString(), [.. values]),
        };
        // The order's idempotency key, read in the same trip and, like the checks, after the rows are locked: a repeat
        // that waited for the lock behind its original sees it committed, and is answered from it.
        var lookup = change.Reply is { LookupPending: true } ? change.Reply : null;
        if (lookup is not null)
            reads.Add(lookup.LookupStatement);
        var read = await sql.QueryAsync([.. reads]);
        lookup?.Replay(read[2]);

        // Not the common case (gone, no account yet, points to expire first, a newer program, the lookup moved on): the general path.
        if (read[0] is not [var m] || (MemberRowState)Convert.ToInt32(m[0], Invariant) != MemberRowState.Active || read[1] is not [var c]
            || Convert.ToInt64(c[0], Invariant) > 0 || !(c[2] is { } latest && Convert.ToInt64(latest, Invariant) == program.Version)
            || c.Skip(3).Any(found => Convert.ToInt64(found, Invariant) == 0))
            return null;
        var member = new MemberRecord
        {
            Id = id, State = MemberRowState.Active, Version = Convert.ToInt64(m[1], Invariant), PhoneIndex = (byte[]?)m[2], Birthday = (string?)m[3],
            CreatedAt = Instant(m[4]),
        };
        if (command.Member is MemberLookup.ByPhone byPhone && !(member.PhoneIndex?.AsSpan().SequenceEqual(protector.BlindIndex(byPhone.Phone)) ?? false))
            return null;
        if (command.Member is MemberLookup.ById byId && byId.MemberId != id)
            return null;
        var account = new LoyaltyAccountRecord
        {
            MemberId = id, GrowthTierCode = (string)m[5]!, AssessmentAt = Instant(m[6]), PaidTierCode = (string?)m[7],
            PaidExpiresAt = m[8] is null ? null : Instant(m[8]), Growth = Convert.ToInt64(m[9], Invariant), PointsBalance = Convert.ToInt64(m[10], Invariant),
            Version = Convert.ToInt64(m[11], Invariant), UpdatedAt = Instant(m[12]),
        };
        var saved = c[1] is { } sum ? Convert.ToInt64(sum, Invariant) : 0;

        var priced = OrderRecording.Price(program, member, account, command);
        var previousVersion = account.Version;
        var writes = new List<(string, object?[])>();
        if (priced.Points > 0)
        {
            account.PointsBalance += priced.Points;
            writes.Add(("INSERT INTO points_lots (\"MemberId\", \"Points\", \"Remaining\", \"EarnedAt\", \"ExpiresAt\", \"Source\") "
                + "VALUES (@p0, @p1, @p1, @p2, @p3, @p4) RETURNING \"Id\"", [id, priced.Points, now.UtcTicks, priced.ExpiresAt.UtcTicks, priced.Reference]));
            writes.Add(("INSERT INTO points_entries (\"MemberId\", \"Kind\", \"Points\", \"BalanceAfter\", \"Reference\", \"Reason\", \"CreatedAt\") "
                + "VALUES (@p0, @p1, @p2, @p3, @p4, NULL, @p5) RETURNING \"Id\"",
                [id, (int)V1.PointsEntryKind.Earn, priced.Points, account.PointsBalance, priced.Reference, now.UtcTicks]));
        }
        writes.Add(("INSERT INTO orders (\"Channel\", \"OrderId\", \"MemberId\", \"StoreId\", \"GuideId\", \"AmountFen\", \"PaidAt\", \"PointsEarned\", "
            + "\"GrowthEarned\", \"RefundedFen\", \"PointsReversed\", \"GrowthReversed\", \"Partner\") "
            + "VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, 0, 0, 0, @p9) RETURNING \"OrderId\"",
            [(int)command.Channel, command.OrderId, id, command.StoreId, command.GuideId, command.AmountFen, command.PaidAt.UtcTicks, priced.Points, priced.Growth,
                false]));
        if (priced.Growth > 0)
            writes.Add(("INSERT INTO growth_events (\"MemberId\", \"Amount\", \"OccurredAt\", \"Reference\") VALUES (@p0, @p1, @p2, @p3) RETURNING \"Id\"",
                [id, priced.Growth, command.PaidAt.UtcTicks, priced.Reference]));

        var result = OrderRecording.Settle(program, member, account, priced, Math.Max(0, saved + OrderRecording.Unsaved(program, command, priced, now)), now);
        account.Version = previousVersion + 1;
        writes.Add(("UPDATE loyalty_accounts SET \"GrowthTierCode\" = @p1, \"AssessmentAt\" = @p2, \"PaidTierCode\" = @p3, \"PaidExpiresAt\" = @p4, "
            + "\"Growth\" = @p5, \"PointsBalance\" = @p6, \"Version\" = @p7, \"UpdatedAt\" = @p8 WHERE \"MemberId\" = @p0 AND \"Version\" = @p9 RETURNING \"Version\"",
            [id, account.GrowthTierCode, account.AssessmentAt.UtcTicks, account.PaidTierCode, account.PaidExpiresAt?.UtcTicks, account.Growth,
                account.PointsBalance, account.Version, account.UpdatedAt.UtcTicks, previousVersion]));
        // The member's snapshot carries the account: its key goes to the outbox at the new snapshot version.
        var key = keys.Member(id);
        var version = member.Version + account.Version;
        var accountUpdate = writes.Count - 1;
        writes.Add(("INSERT INTO cache_outbox (\"Key\", \"Version\", \"CreatedAt\", \"Applied\") VALUES (@p0, @p1, @p2, @p3) RETURNING \"Id\"",
            [key, version, now.UtcTicks, false]));
        var outboxRow = writes.Count - 1;
        // The reply is kept under the idempotency key in the same batch (one round trip fewer with the rows locked).
        Google.Protobuf.IMessage? reply = null;
        if (change.Reply is { } kept)
            writes.Add(kept.Statement(result, out reply));
        var written = await sql.QueryAsync([.. writes]);
        if (written[accountUpdate].Count != 1)
            throw new DbUpdateConcurrencyException("The loyalty account changed while the order was written.");
        if (reply is not null)
            change.Reply!.WasSent(reply);
        change.Add(new CacheOutboxRecord { Id = Convert.ToInt64(written[outboxRow][0][0], Invariant), Key = key, Version = version, CreatedAt = now });
        if (held is { Member: { } heldMember } && heldMember.MemberId == id && heldMember.Version == member.Version)
            change.Fresh(key, SnapshotLoader.Build(heldMember.Clone(), member, account, program));
        if (priced.Points > 0)
            metrics.EntriesSaved((int)V1.PointsEntryKind.Earn, 1);
        Interlocked.Increment(ref directWrites);
        return result;
    }

    static readonly System.Globalization.CultureInfo Invariant = System.Globalization.CultureInfo.InvariantCulture;

    static DateTimeOffset Instant(object? utcTicks) => new(Convert.ToInt64(utcTicks, Invariant), TimeSpan.Zero);
}
