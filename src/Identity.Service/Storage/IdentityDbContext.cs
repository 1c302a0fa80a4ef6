using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;

namespace Identity.Service.Storage;

public sealed class IdentityDbContext(DbContextOptions<IdentityDbContext> options) : DbContext(options)
{
    public DbSet<MemberRecord> Members => Set<MemberRecord>();
    public DbSet<ChannelIdentityRecord> ChannelIdentities => Set<ChannelIdentityRecord>();
    public DbSet<MergeRecordRow> Merges => Set<MergeRecordRow>();
    public DbSet<LoyaltyAccountRecord> LoyaltyAccounts => Set<LoyaltyAccountRecord>();
    public DbSet<PointsEntryRecord> PointsEntries => Set<PointsEntryRecord>();
    public DbSet<PointsLotRecord> PointsLots => Set<PointsLotRecord>();
    public DbSet<OrderRecord> Orders => Set<OrderRecord>();
    public DbSet<GrowthEventRecord> GrowthEvents => Set<GrowthEventRecord>();
    public DbSet<IdempotencyRecord> IdempotencyKeys => Set<IdempotencyRecord>();
    public DbSet<CheckInRecord> CheckIns => Set<CheckInRecord>();
    public DbSet<ProgramRecord> Programs => Set<ProgramRecord>();
    public DbSet<ClientRecord> Clients => Set<ClientRecord>();
    public DbSet<AuditEventRecord> AuditEvents => Set<AuditEventRecord>();
    public DbSet<ConsentRecord> Consents => Set<ConsentRecord>();
    public DbSet<PartnerLinkRecord> PartnerLinks => Set<PartnerLinkRecord>();
    public DbSet<CacheOutboxRecord> CacheOutbox => Set<CacheOutboxRecord>();
    public DbSet<ImportRecord> Imports => Set<ImportRecord>();
    public DbSet<ImportRowRecord> ImportRows => Set<ImportRowRecord>();
    public DbSet<ImportKeyRecord> ImportKeys => Set<ImportKeyRecord>();
    public DbSet<ImportKeyUseRecord> ImportKeyUses => Set<ImportKeyUseRecord>();

    protected override void ConfigureConventions(ModelConfigurationBuilder configuration)
    {
        // Instants as UTC ticks: sortable and exact (SQLite cannot order DateTimeOffset stored as text).
        configuration.Properties<DateTimeOffset>().HaveConversion<UtcTicksConverter>();
        // Text compares and sorts by code point on PostgreSQL too, as in SQLite (keyset pages, exact keys), whatever
        // collation the database was created with.
        if (IsPostgres)
            configuration.Properties<string>().UseCollation("C");
    }

    bool IsPostgres => Database.ProviderName == ProviderMigrationsAssembly.PostgresProvider;

    protected override void OnModelCreating(ModelBuilder model)
    {
        model.Entity<MemberRecord>(member =>
        {
            member.ToTable("members");
            member.HasKey(m => m.Id);
            member.Property(m => m.Id).HasMaxLength(64);
            member.Property(m => m.Name).HasMaxLength(MemberLimits.NameLength);
            member.Property(m => m.Birthday).HasMaxLength(10);
            member.Property(m => m.EnrolledStoreId).HasMaxLength(MemberLimits.StoreIdLength);
            member.Property(m => m.EnrolledGuideId).HasMaxLength(MemberLimits.GuideIdLength);
            member.Property(m => m.ErasureTicketRef).HasMaxLength(MemberLimits.TicketRefLength);
            member.Property(m => m.Version).IsConcurrencyToken();
            // The invariant that makes phone the identity key: one member per phone.
            member.HasIndex(m => m.PhoneIndex).IsUnique();
            member.HasIndex(m => m.MergedIntoId);
            member.HasMany(m => m.Identities).WithOne().HasForeignKey(i => i.MemberId);
            member.HasMany(m => m.Consents).WithOne().HasForeignKey(c => c.MemberId);
        });

        model.Entity<ChannelIdentityRecord>(identity =>
        {
            identity.ToTable("channel_identities");
            // One owner per (channel, external id).
            identity.HasKey(i => new { i.Channel, i.ExternalId });
            identity.Property(i => i.ExternalId).HasMaxLength(MemberLimits.ExternalIdLength);
            identity.Property(i => i.BoundAtStoreId).HasMaxLength(MemberLimits.StoreIdLength);
            identity.HasIndex(i => i.MemberId);
        });

        model.Entity<MergeRecordRow>(merge =>
        {
            merge.ToTable("merges");
            merge.HasKey(m => m.Id);
            merge.Property(m => m.Reason).HasMaxLength(MemberLimits.ReasonLength);
            merge.HasIndex(m => m.SurvivorId);
            // A member is absorbed at most once.
            merge.HasIndex(m => m.AbsorbedId).IsUnique();
        });

        model.Entity<LoyaltyAccountRecord>(account =>
        {
            account.ToTable("loyalty_accounts");
            account.HasKey(a => a.MemberId);
            account.Property(a => a.Version).IsConcurrencyToken();
            account.HasIndex(a => a.AssessmentAt);
            account.HasIndex(a => a.PaidExpiresAt);
        });

        model.Entity<PointsEntryRecord>(entry =>
        {
            entry.ToTable("points_entries");
            entry.HasKey(e => e.Id);
            entry.HasIndex(e => new { e.MemberId, e.Id });
        });

        model.Entity<PointsLotRecord>(lot =>
        {
            lot.ToTable("points_lots");
            lot.HasKey(l => l.Id);
            lot.HasIndex(l => new { l.MemberId, l.ExpiresAt });
            lot.HasIndex(l => new { l.ExpiresAt, l.Remaining });
        });

        model.Entity<OrderRecord>(order =>
        {
            order.ToTable("orders");
            order.HasKey(o => new { o.Channel, o.OrderId });
            order.HasIndex(o => o.MemberId);
        });

        model.Entity<GrowthEventRecord>(growth =>
        {
            growth.ToTable("growth_events");
            growth.HasKey(g => g.Id);
            // Amount too: a write sums the member's window from the index alone, however long its history.
            growth.HasIndex(g => new { g.MemberId, g.OccurredAt, g.Amount });
        });

        model.Entity<IdempotencyRecord>(key =>
        {
            key.ToTable("idempotency_keys");
            key.HasKey(k => new { k.Scope, k.Key });
            key.Property(k => k.MemberId).HasMaxLength(MemberLimits.MemberIdLength);
            key.HasIndex(k => k.MemberId);
        });

        model.Entity<CheckInRecord>(checkIn =>
        {
            checkIn.ToTable("check_ins");
            checkIn.HasKey(c => new { c.MemberId, c.LocalDate });
        });

        model.Entity<ClientRecord>(client =>
        {
            client.ToTable("clients");
            client.HasKey(c => c.Id);
            client.Property(c => c.Name).HasMaxLength(64);
            client.HasIndex(c => c.KeyHash).IsUnique();
        });

        model.Entity<AuditEventRecord>(audit =>
        {
            audit.ToTable("audit_events");
            audit.HasKey(a => a.Id);
            audit.HasIndex(a => new { a.ClientId, a.Id });
            audit.HasIndex(a => new { a.MemberId, a.Id });
            audit.HasIndex(a => a.OccurredAt);
        });

        model.Entity<ConsentRecord>(consent =>
        {
            consent.ToTable("consents");
            consent.HasKey(c => c.Id);
            consent.HasIndex(c => new { c.MemberId, c.Purpose, c.Id });
        });

        model.Entity<PartnerLinkRecord>(link =>
        {
            link.ToTable("partner_links");
            link.HasKey(l => new { l.ClientId, l.PartnerMemberId });
            link.HasIndex(l => l.MemberId);
        });

        model.Entity<CacheOutboxRecord>(row =>
        {
            row.ToTable("cache_outbox");
            row.HasKey(r => r.Id);
            // One key (at most 32 characters), or a bulk write's packed keys (OutboxKeys): no length limit.
            // Unapplied rows are read on every poll: normally none, found without a scan.
            row.HasIndex(r => r.Applied).HasFilter(IsPostgres ? "NOT \"Applied\"" : "\"Applied\" = 0");
        });

        model.Entity<ImportRecord>(import =>
        {
            import.ToTable("imports");
            import.HasKey(i => i.Id);
            import.Property(i => i.Id).HasMaxLength(ImportLimits.ImportIdLength);
            import.Property(i => i.Source).HasMaxLength(ImportLimits.SourceLength);
        });

        model.Entity<ImportRowRecord>(row =>
        {
            row.ToTable("import_rows");
            row.HasKey(r => new { r.ImportId, r.RowNumber });
            row.Property(r => r.ImportId).HasMaxLength(ImportLimits.ImportIdLength);
            row.Property(r => r.MemberId).HasMaxLength(MemberLimits.MemberIdLength);
            row.Property(r => r.OwnerMemberId).HasMaxLength(MemberLimits.MemberIdLength);
        });

        model.Entity<ImportKeyRecord>(key =>
        {
            key.ToTable("import_keys");
            key.HasKey(k => new { k.Source, k.SourceRowKey });
            key.Property(k => k.Source).HasMaxLength(ImportLimits.SourceLength);
            key.Property(k => k.SourceRowKey).HasMaxLength(ImportLimits.SourceRowKeyLength);
            key.Property(k => k.ImportId).HasMaxLength(ImportLimits.ImportIdLength);
            key.Property(k => k.MemberId).HasMaxLength(MemberLimits.MemberIdLength);
        });

        model.Entity<ImportKeyUseRecord>(use =>
        {
            use.ToTable("import_key_uses");
            use.HasKey(u => new { u.ImportId, u.SourceRowKey });
            use.Property(u => u.ImportId).HasMaxLength(ImportLimits.ImportIdLength);
            use.Property(u => u.SourceRowKey).HasMaxLength(ImportLimits.SourceRowKeyLength);
        });

        model.Entity<ProgramRecord>(program =>
        {
            program.ToTable("programs");
            program.HasKey(p => p.Version);
            program.Property(p => p.Version).ValueGeneratedNever();
        });
    }
}

sealed class UtcTicksConverter() : ValueConverter<DateTimeOffset, long>(v => v.UtcTicks, v => new DateTimeOffset(v, TimeSpan.Zero));

/// <summary>Bounds on every caller-controlled string, shared by validation and the schema.</summary>
public static class MemberLimits
{
    public const int MemberIdLength = 64;
    public const int NameLength = 64;
    public const int ExternalIdLength = 128;
    public const int StoreIdLength = 64;
    public const int GuideIdLength = 64;
    public const int ReasonLength = 256;
    public const int TicketRefLength = 64;
    public const int OperatorLength = 64;
}

/// <summary>Bounds on what an import header and row may hold.</summary>
public static class ImportLimits
{
    public const int ImportIdLength = 64;
    public const int SourceLength = 64;
    public const int SourceRowKeyLength = 128;
    public const int MaxBatchRows = 1000;
}
