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
public sealed class DirectOrderWrite(ProgramCatalog catalog, CacheKeys keys, PhoneProtector protector, LoyaltyMetrics metrics, TimeProvider clock,
    Microsoft.Extensions.Options.IOptions<Hosting.IdentityOptions> options)
{
    readonly bool enabled = options.Value.Store.DirectOrderWrites;

    /// <summary>The order's result, or null (nothing written) when it is not the common case.</summary>
    public async Task<OrderResult?> TryRecordAsync(IdentityDbContext db, CacheChange change, OrderCommand command, CancellationToken ct)
    {
        if (!enabled || command.Resolved is not { Id: var id } || db.Database.CurrentTransaction is null)
            return null;
        var sql = new RawSql(db, ct);
        var locked = sql.ForUpdate;
        var now = clock.GetUtcNow();
        var program = await catalog.ForWriteAsync(db, ct);

        var member = await sql.ReadAsync($"SELECT \"State\", \"Version\", \"PhoneIndex\", \"Birthday\", \"CreatedAt\" FROM members WHERE \"Id\" = @p0{locked}",
            r => new MemberRecord
            {
                Id = id, State = (MemberRowState)r.GetInt32(0), Version = r.GetInt64(1), PhoneIndex = r.IsDBNull(2) ? null : (byte[])r.GetValue(2),
                Birthday = r.IsDBNull(3) ? null : r.GetString(3), CreatedAt = Instant(r.GetInt64(4)),
            }, id);
        if (member is not { State: MemberRowState.Active } || !await StillNamedAsync(sql, member, command.Member))
            return null;
        var account = await sql.ReadAsync("SELECT \"GrowthTierCode\", \"AssessmentAt\", \"PaidTierCode\", \"PaidExpiresAt\", \"Growth\", \"PointsBalance\", "
            + $"\"Version\", \"UpdatedAt\" FROM loyalty_accounts WHERE \"MemberId\" = @p0{locked}",
            r => new LoyaltyAccountRecord
            {
                MemberId = id, GrowthTierCode = r.GetString(0), AssessmentAt = Instant(r.GetInt64(1)), PaidTierCode = r.IsDBNull(2) ? null : r.GetString(2),
                PaidExpiresAt = r.IsDBNull(3) ? null : Instant(r.GetInt64(3)), Growth = r.GetInt64(4), PointsBalance = r.GetInt64(5), Version = r.GetInt64(6),
                UpdatedAt = Instant(r.GetInt64(7)),
            }, id);
        if (account is null || await sql.ReadAsync("SELECT 1 FROM points_lots WHERE \"MemberId\" = @p0 AND \"Remaining\" > 0 AND \"ExpiresAt\" <= @p1 LIMIT 1",
                r => (object)true, id, now.UtcTicks) is not null)
            return null; // a new account, or points to expire first: the general path

        var priced = OrderRecording.Price(program, member, account, command);
        var from = now.AddMonths(-program.Growth.WindowMonths);
        var saved = await sql.ScalarAsync("SELECT SUM(\"Amount\") FROM growth_events WHERE \"MemberId\" = @p0 AND \"OccurredAt\" > @p1 AND \"OccurredAt\" <= @p2",
            id, from.UtcTicks, now.UtcTicks) ?? 0;
        var previousVersion = account.Version;
        if (priced.Points > 0)
        {
            account.PointsBalance += priced.Points;
            await sql.ExecuteAsync("INSERT INTO points_lots (\"MemberId\", \"Points\", \"Remaining\", \"EarnedAt\", \"ExpiresAt\", \"Source\") "
                + "VALUES (@p0, @p1, @p1, @p2, @p3, @p4)", id, priced.Points, now.UtcTicks, priced.ExpiresAt.UtcTicks, priced.Reference);
            await sql.ExecuteAsync("INSERT INTO points_entries (\"MemberId\", \"Kind\", \"Points\", \"BalanceAfter\", \"Reference\", \"Reason\", \"CreatedAt\") "
                + "VALUES (@p0, @p1, @p2, @p3, @p4, NULL, @p5)", id, (int)V1.PointsEntryKind.Earn, priced.Points, account.PointsBalance, priced.Reference, now.UtcTicks);
        }
        await sql.ExecuteAsync("INSERT INTO orders (\"Channel\", \"OrderId\", \"MemberId\", \"StoreId\", \"GuideId\", \"AmountFen\", \"PaidAt\", \"PointsEarned\", "
            + "\"GrowthEarned\", \"RefundedFen\", \"PointsReversed\", \"GrowthReversed\", \"Partner\") VALUES (@p0, @p1, @p2, @p3, @p4, @p5, @p6, @p7, @p8, 0, 0, 0, @p9)",
            (int)command.Channel, command.OrderId, id, command.StoreId, command.GuideId, command.AmountFen, command.PaidAt.UtcTicks, priced.Points, priced.Growth, false);
        if (priced.Growth > 0)
            await sql.ExecuteAsync("INSERT INTO growth_events (\"MemberId\", \"Amount\", \"OccurredAt\", \"Reference\") VALUES (@p0, @p1, @p2, @p3)",
                id, priced.Growth, command.PaidAt.UtcTicks, priced.Reference);

        var result = OrderRecording.Settle(program, member, account, priced, Math.Max(0, saved + OrderRecording.Unsaved(program, command, priced, now)), now);
        account.Version = previousVersion + 1;
        var updated = await sql.ExecuteAsync("UPDATE loyalty_accounts SET \"GrowthTierCode\" = @p1, \"AssessmentAt\" = @p2, \"PaidTierCode\" = @p3, "
            + "\"PaidExpiresAt\" = @p4, \"Growth\" = @p5, \"PointsBalance\" = @p6, \"Version\" = @p7, \"UpdatedAt\" = @p8 WHERE \"MemberId\" = @p0 AND \"Version\" = @p9",
            id, account.GrowthTierCode, account.AssessmentAt.UtcTicks, account.PaidTierCode, account.PaidExpiresAt?.UtcTicks, account.Growth,
            account.PointsBalance, account.Version, account.UpdatedAt.UtcTicks, previousVersion);
        if (updated != 1)
            throw new DbUpdateConcurrencyException("The loyalty account changed while the order was written.");

        // The member's snapshot carries the account: its key goes to the outbox at the new snapshot version.
        var key = keys.Member(id);
        var version = member.Version + account.Version;
        var outboxId = await sql.ScalarAsync("INSERT INTO cache_outbox (\"Key\", \"Version\", \"CreatedAt\", \"Applied\") VALUES (@p0, @p1, @p2, @p3) RETURNING \"Id\"",
            key, version, now.UtcTicks, false) ?? throw new InvalidOperationException("The outbox row got no id.");
        change.Add(new CacheOutboxRecord { Id = outboxId, Key = key, Version = version, CreatedAt = now });
        if (priced.Points > 0)
            metrics.EntriesSaved((int)V1.PointsEntryKind.Earn, 1);
        return result;
    }

    /// <summary>The lookup still names the member, within its scope (as <see cref="MemberQueries.LoadIfStillNamedAsync"/> checks it).</summary>
    async Task<bool> StillNamedAsync(RawSql sql, MemberRecord member, MemberLookup lookup)
    {
        var named = lookup switch
        {
            MemberLookup.ById byId => byId.MemberId == member.Id,
            MemberLookup.ByPhone byPhone => member.PhoneIndex is { } index && index.AsSpan().SequenceEqual(protector.BlindIndex(byPhone.Phone)),
            MemberLookup.ByIdentity { Identity: var identity } => await sql.ReadAsync(
                "SELECT 1 FROM channel_identities WHERE \"Channel\" = @p0 AND \"ExternalId\" = @p1 AND \"MemberId\" = @p2",
                r => (object)true, identity.Channel, identity.ExternalId, member.Id) is not null,
            _ => false,
        };
        return named && (lookup.Scope is not { Channel: var channel }
            || await sql.ReadAsync("SELECT 1 FROM channel_identities WHERE \"MemberId\" = @p0 AND \"Channel\" = @p1 LIMIT 1", r => (object)true, member.Id, channel) is not null);
    }

    static DateTimeOffset Instant(long utcTicks) => new(utcTicks, TimeSpan.Zero);
}
