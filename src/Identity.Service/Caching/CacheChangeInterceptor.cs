using Identity.Service.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.ChangeTracking;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Identity.Service.Caching;

/// <summary>
/// The one place where a write's effect on the cache is worked out. As changes are saved it finds every member whose
/// snapshot they touch (the member row, its identities and consents, its loyalty account and ledger), bumps the
/// member's or the account's version when the write did not, and writes the changed cache keys to the outbox in the
/// same transaction. A new write path therefore cannot forget an invalidation or a version bump.
/// </summary>
public sealed class CacheChangeInterceptor(CacheKeys keys, TimeProvider clock) : SaveChangesInterceptor
{
    public override InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        if (eventData.Context is IdentityDbContext db)
            RecordAsync(db, CancellationToken.None).GetAwaiter().GetResult();
        return result;
    }

    public override async ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result,
        CancellationToken cancellationToken = default)
    {
        if (eventData.Context is IdentityDbContext db)
            await RecordAsync(db, cancellationToken);
        return result;
    }

    async Task RecordAsync(IdentityDbContext db, CancellationToken ct)
    {
        db.ChangeTracker.DetectChanges();
        var members = new HashSet<string>(StringComparer.Ordinal);
        var accounts = new HashSet<string>(StringComparer.Ordinal);
        var lookups = new HashSet<string>(StringComparer.Ordinal);
        var erased = false;
        foreach (var entry in db.ChangeTracker.Entries())
        {
            if (entry.State is not (EntityState.Added or EntityState.Modified or EntityState.Deleted))
                continue;
            switch (entry.Entity)
            {
                case MemberRecord member:
                    members.Add(member.Id);
                    AddPhone(lookups, member.PhoneIndex);
                    if (entry.State == EntityState.Modified)
                    {
                        AddPhone(lookups, (byte[]?)entry.Property(nameof(MemberRecord.PhoneIndex)).OriginalValue);
                        erased |= member.State == MemberRowState.Erased && (MemberRowState)entry.Property(nameof(MemberRecord.State)).OriginalValue! != MemberRowState.Erased;
                    }
                    break;
                case ChannelIdentityRecord identity:
                    AddOwners(members, entry);
                    lookups.Add(keys.Identity(new Members.IdentityKey(identity.Channel, identity.ExternalId)));
                    break;
                case ConsentRecord:
                    AddOwners(members, entry);
                    break;
                case LoyaltyAccountRecord or PointsEntryRecord or PointsLotRecord or OrderRecord or GrowthEventRecord or CheckInRecord:
                    AddOwners(accounts, entry);
                    break;
            }
        }
        if (members.Count == 0 && accounts.Count == 0 && lookups.Count == 0)
            return;

        var now = clock.GetUtcNow();
        var change = CacheChange.Current;
        foreach (var id in members.Union(accounts))
        {
            var member = members.Contains(id) ? await BumpAsync(db.Members, id, m => m.Version, (m, v) => m.Version = v, ct) : null;
            var account = accounts.Contains(id) ? await BumpAsync(db.LoyaltyAccounts, id, a => a.Version, (a, v) => a.Version = v, ct) : null;
            // The snapshot's version is the sum of both, each of which only grows.
            // A row the write loaded is read from the tracker (an order loads its member): no query.
            var version = (member ?? db.Members.Local.FindEntry(id)?.Entity.Version
                              ?? await db.Members.AsNoTracking().Where(m => m.Id == id).Select(m => (long?)m.Version).FirstOrDefaultAsync(ct) ?? 0)
                          + (account ?? db.LoyaltyAccounts.Local.FindEntry(id)?.Entity.Version
                              ?? await db.LoyaltyAccounts.AsNoTracking().Where(a => a.MemberId == id).Select(a => (long?)a.Version).FirstOrDefaultAsync(ct) ?? 0);
            Add(db, change, keys.Member(id), version, now);
        }
        foreach (var key in lookups)
            Add(db, change, key, 0, now);
        if (erased)
            change?.Erased();
    }

    /// <summary>Makes sure the row's version grows in this save (once), loading the row if the write did not; null when there is no row.</summary>
    static async Task<long?> BumpAsync<T>(DbSet<T> set, string id, Func<T, long> version, Action<T, long> setVersion, CancellationToken ct) where T : class
    {
        var row = await set.FindAsync([id], ct);
        if (row is null)
            return null;
        var entry = set.Entry(row);
        if (entry.State == EntityState.Deleted)
            return null;
        // A new row counts as a change too: an account created by this write replaces the program's entry state.
        if (entry.State == EntityState.Added ? version(row) == 0 : version(row) == (long)entry.Property("Version").OriginalValue!)
            setVersion(row, version(row) + 1);
        return version(row);
    }

    void Add(IdentityDbContext db, CacheChange? change, string key, long version, DateTimeOffset now)
    {
        var row = new CacheOutboxRecord { Key = key, Version = version, CreatedAt = now };
        db.CacheOutbox.Add(row);
        change?.Add(row);
    }

    void AddPhone(HashSet<string> lookups, byte[]? index)
    {
        if (index is not null)
            lookups.Add(keys.Phone(index));
    }

    static void AddOwners(HashSet<string> owners, EntityEntry entry)
    {
        var property = entry.Property("MemberId");
        owners.Add((string)property.CurrentValue!);
        if (entry.State == EntityState.Modified && property.OriginalValue is string original)
            owners.Add(original);
    }
}
