using Identity.Service.Caching;
using Identity.Service.Storage;
using Identity.V1;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Members;

/// <summary>
/// Complete erasure (PIPL art. 47) inside the erase transaction. Everything that identifies the person goes: profile,
/// phone ciphertext and blind index, channel identities, consents, partner links, merge records (they copy the moved
/// identities), check-ins and the keyed-write records (their responses and hashes carry the member id). What accounting
/// needs — accounts, ledger entries, lots, growth events and orders — stays under a fresh random tombstone per member row,
/// stripped of every field that could lead back (order ids, stores, guides, references, free-text reasons). Nothing
/// stored maps the member id to its tombstone; audit rows keep the call but drop the member id.
/// </summary>
static class MemberErasure
{
    /// <summary>The reference left on ledger rows: only the kind of source before the first ':' (e.g. <c>order</c>).</summary>
    const string ReferenceSeparator = ":";

    /// <summary>Erases <paramref name="member"/> (an active member, or one erased before erasure was complete) and its merged ids.</summary>
    public static async Task EraseAsync(IdentityDbContext db, CacheChange change, MemberRecord member, ErasureReason reason, string? ticketRef,
        DateTimeOffset erasedAt, DateTimeOffset now, CancellationToken ct)
    {
        // The person is the member and every member merged into it earlier (redirects are one hop deep).
        var absorbedIds = await db.Members.Where(m => m.MergedIntoId == member.Id).Select(m => m.Id).ToListAsync(ct);
        var family = new List<MemberRecord> { member };
        foreach (var id in absorbedIds)
            family.Add(await MemberQueries.LoadAsync(db, id, ct) ?? throw new InvalidOperationException("A merged member row is missing."));
        var ids = family.Select(m => m.Id).ToList();

        // The cache keys to drop are taken from the tracked changes (identities, phones, member rows) as they are saved.
        foreach (var row in family)
        {
            db.ChannelIdentities.RemoveRange(row.Identities);
            db.Consents.RemoveRange(row.Consents);
        }
        await db.Merges.Where(m => ids.Contains(m.SurvivorId) || ids.Contains(m.AbsorbedId)).ExecuteDeleteAsync(ct);
        await db.PartnerLinks.Where(l => ids.Contains(l.MemberId)).ExecuteDeleteAsync(ct);
        await db.CheckIns.Where(c => ids.Contains(c.MemberId)).ExecuteDeleteAsync(ct);
        await db.IdempotencyKeys.Where(k => k.MemberId != null && ids.Contains(k.MemberId)).ExecuteDeleteAsync(ct);
        // Audit rows keep who called what and when, but no longer whom it concerned: a tombstone there would let a
        // caller who knows when it asked about the person find the person's ledger. Rows still buffered are cleared
        // when they are written (AuditTrail).
        await db.AuditEvents.Where(a => a.MemberId != null && ids.Contains(a.MemberId))
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.MemberId, (string?)null), ct);

        // A snapshot's version is the member's plus its account's, and must only grow: the account leaves with the
        // ledger, so the member row takes over its version.
        var accountVersions = await db.LoyaltyAccounts.Where(a => ids.Contains(a.MemberId)).ToDictionaryAsync(a => a.MemberId, a => a.Version, ct);
        foreach (var id in ids)
            await TombstoneLedgerAsync(db, id, NewTombstone(), ct);

        foreach (var row in family)
        {
            row.PhoneCiphertext = null;
            row.PhoneIndex = null;
            row.Name = null;
            row.Gender = 0;
            row.Birthday = null;
            row.EnrolledChannel = 0;
            row.EnrolledStoreId = null;
            row.EnrolledGuideId = null;
            // The enrolment instant could be matched against a store's records; the row keeps only the erasure instant.
            row.CreatedAt = now;
            // Plus one for the erasure itself (the save only bumps a version the write left alone).
            row.Version += accountVersions.GetValueOrDefault(row.Id) + 1;
            row.Touch(now);
        }
        // Absorbed rows stay merged into the erased member, so their ids answer MEMBER_ERASED too.
        member.State = MemberRowState.Erased;
        member.ErasedAt = erasedAt;
        member.ErasureReasonCode = (int)reason;
        member.ErasureTicketRef = ticketRef;
    }

    /// <summary>
    /// Members erased before erasure removed everything (their free-text reasons went with the migration that made it
    /// complete) are erased again, completely, once: after that migration, at start. Keyed-write records of that time
    /// first learn their member.
    /// </summary>
    public static async Task<int> CompleteEarlierAsync(IdentityStore store, TimeProvider clock, CancellationToken cancellationToken)
    {
        await Idempotency.BackfillMemberIdsAsync(store, cancellationToken);
        var ids = await store.ReadAsync((db, ct) => db.Members.Where(m => m.State == MemberRowState.Erased).Select(m => m.Id).ToListAsync(ct),
            cancellationToken);
        foreach (var id in ids)
        {
            await store.WriteAsync(async (db, ct) =>
            {
                var member = await MemberQueries.LoadAsync(db, id, ct) ?? throw new InvalidOperationException("An erased member row is missing.");
                var now = clock.GetUtcNow();
                // Nothing is cached for these members (erasure purged them); the change is only a formality.
                await EraseAsync(db, new CacheChange(), member, (ErasureReason)member.ErasureReasonCode, member.ErasureTicketRef,
                    member.ErasedAt ?? now, now, ct);
                return 0;
            }, cancellationToken);
        }
        if (ids.Count > 0)
            await store.CheckpointAsync(cancellationToken);
        return ids.Count;
    }

    /// <summary>Moves one member row's ledger and audit rows to the tombstone and strips what could link them back.</summary>
    static async Task TombstoneLedgerAsync(IdentityDbContext db, string memberId, string tombstone, CancellationToken ct)
    {
        await db.LoyaltyAccounts.Where(a => a.MemberId == memberId)
            .ExecuteUpdateAsync(s => s.SetProperty(a => a.MemberId, tombstone), ct);
        await db.PointsEntries.Where(e => e.MemberId == memberId).ExecuteUpdateAsync(s => s
            .SetProperty(e => e.MemberId, tombstone)
            .SetProperty(e => e.Reference, e => e.Reference.Contains(ReferenceSeparator)
                ? e.Reference.Substring(0, e.Reference.IndexOf(ReferenceSeparator)) : e.Reference)
            .SetProperty(e => e.Reason, (string?)null), ct);
        await db.PointsLots.Where(l => l.MemberId == memberId).ExecuteUpdateAsync(s => s
            .SetProperty(l => l.MemberId, tombstone)
            .SetProperty(l => l.Source, l => l.Source.Contains(ReferenceSeparator)
                ? l.Source.Substring(0, l.Source.IndexOf(ReferenceSeparator)) : l.Source), ct);
        await db.GrowthEvents.Where(g => g.MemberId == memberId).ExecuteUpdateAsync(s => s
            .SetProperty(g => g.MemberId, tombstone)
            .SetProperty(g => g.Reference, g => g.Reference.Contains(ReferenceSeparator)
                ? g.Reference.Substring(0, g.Reference.IndexOf(ReferenceSeparator)) : g.Reference), ct);

        // An order's key is the channel's order id, which the channel's own records tie to the person: each order is
        // re-keyed to a random id (a refund quoting the old id then finds no order, as for any unknown order).
        var orders = await db.Orders.AsNoTracking().Where(o => o.MemberId == memberId).ToListAsync(ct);
        if (orders.Count == 0)
            return;
        await db.Orders.Where(o => o.MemberId == memberId).ExecuteDeleteAsync(ct);
        db.Orders.AddRange(orders.Select(o => new OrderRecord
        {
            Channel = o.Channel, OrderId = NewTombstone(), MemberId = tombstone, AmountFen = o.AmountFen, PaidAt = o.PaidAt,
            PointsEarned = o.PointsEarned, GrowthEarned = o.GrowthEarned, RefundedFen = o.RefundedFen, PointsReversed = o.PointsReversed,
            GrowthReversed = o.GrowthReversed, Partner = o.Partner,
        }));
    }

    /// <summary>A random id (not time-ordered, so it does not reveal when the erasure happened).</summary>
    static string NewTombstone() => "erased_" + Guid.NewGuid().ToString("N");
}
