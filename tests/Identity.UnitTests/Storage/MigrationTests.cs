using Identity.Service.Loyalty;
using System.Security.Cryptography;
using Identity.Service.Hosting;
using Identity.Service.Phones;
using Identity.Service.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Identity.UnitTests.Storage;

public sealed class MigrationTests : IDisposable
{
    readonly string root = Path.Combine(Path.GetTempPath(), "identity-unit-" + Guid.NewGuid().ToString("N"));

    string DatabasePath => Path.Combine(root, "db", "identity.db");

    DbContextOptions<IdentityDbContext> FileOptions => new DbContextOptionsBuilder<IdentityDbContext>()
        .UseSqlite(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false }.ToString())
        .Options;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        if (Directory.Exists(root))
            Directory.Delete(root, recursive: true);
    }

    /// <summary>Migrates a fresh database file the way the server does at start.</summary>
    async Task<DatabaseReadiness> MigrateAsync(DatabaseReadiness? readiness = null)
    {
        readiness ??= new DatabaseReadiness();
        var options = Options.Create(new IdentityOptions { DataDirectory = root, Database = new DatabaseOptions { Path = DatabasePath } });
        var keys = new PhoneKeys(RandomNumberGenerator.GetBytes(32), RandomNumberGenerator.GetBytes(32));
        var contexts = new ContextFactory(FileOptions);
        var programs = new ProgramCatalog(contexts, new IdentityStore(contexts, Microsoft.Extensions.Options.Options.Create(new Identity.Service.Hosting.IdentityOptions())), TimeProvider.System);
        var store = new IdentityStore(contexts, Microsoft.Extensions.Options.Options.Create(new Identity.Service.Hosting.IdentityOptions()));
        var meters = new ServiceCollection().AddMetrics().BuildServiceProvider()
            .GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
        var clients = new Identity.Service.Security.ClientRegistry(store, TimeProvider.System, new Identity.Service.Telemetry.SecurityMetrics(meters));
        var migrator = new DatabaseMigrator(contexts, keys, programs, clients, options, readiness, store, TimeProvider.System, NullLogger<DatabaseMigrator>.Instance);
        await migrator.StartAsync(CancellationToken.None);
        return readiness;
    }

    IdentityDbContext Open() => new(FileOptions);

    static MemberRecord Member(string id, byte[]? phoneIndex) => new()
    {
        Id = id,
        PhoneIndex = phoneIndex,
        PhoneCiphertext = phoneIndex is null ? null : [1, 2, 3],
        CreatedAt = DateTimeOffset.UnixEpoch,
        UpdatedAt = DateTimeOffset.UnixEpoch,
    };

    static async Task<List<(string Name, bool Unique, string Origin, List<string> Columns)>> IndexesAsync(IdentityDbContext db, string table)
    {
        var connection = (SqliteConnection)db.Database.GetDbConnection();
        await connection.OpenAsync();
        var indexes = new List<(string, bool, string, List<string>)>();
        await using (var list = connection.CreateCommand())
        {
            list.CommandText = $"PRAGMA index_list('{table}')";
            await using var reader = await list.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                indexes.Add((reader.GetString(1), reader.GetInt64(2) == 1, reader.GetString(3), []));
        }
        foreach (var (name, _, _, columns) in indexes)
        {
            await using var info = connection.CreateCommand();
            info.CommandText = $"PRAGMA index_info('{name}')";
            await using var reader = await info.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                columns.Add(reader.GetString(2));
        }
        return indexes;
    }

    [Fact]
    public void The_model_has_no_changes_missing_from_the_migrations()
    {
        using var db = new IdentityDbContext(new DbContextOptionsBuilder<IdentityDbContext>().UseSqlite("Data Source=:memory:").Options);

        Assert.False(db.Database.HasPendingModelChanges(), "Run add-migration: the model differs from the last migration's snapshot.");
    }

    [Fact]
    public async Task Migrating_a_fresh_file_applies_every_migration()
    {
        await MigrateAsync();

        await using var db = Open();
        Assert.Empty(await db.Database.GetPendingMigrationsAsync());
        Assert.Equal(db.Database.GetMigrations(), await db.Database.GetAppliedMigrationsAsync());
    }

    [Fact]
    public async Task Migrating_twice_is_harmless()
    {
        await MigrateAsync();
        await using (var db = Open())
        {
            db.Members.Add(Member("m-1", [7]));
            await db.SaveChangesAsync();
        }

        await MigrateAsync();

        await using var again = Open();
        Assert.Equal(1, await again.Members.CountAsync());
    }

    [Fact]
    public async Task The_phone_index_of_members_is_unique()
    {
        await MigrateAsync();
        await using var db = Open();

        var indexes = await IndexesAsync(db, "members");

        Assert.Contains(indexes, i => i.Unique && i.Columns.SequenceEqual(["PhoneIndex"]));
    }

    [Fact]
    public async Task Channel_identities_are_keyed_by_channel_and_external_id()
    {
        await MigrateAsync();
        await using var db = Open();

        var indexes = await IndexesAsync(db, "channel_identities");

        Assert.Contains(indexes, i => i.Origin == "pk" && i.Unique && i.Columns.SequenceEqual(["Channel", "ExternalId"]));
    }

    [Fact]
    public async Task Two_members_cannot_share_a_phone()
    {
        await MigrateAsync();
        await using (var db = Open())
        {
            db.Members.Add(Member("m-1", [1, 2, 3, 4]));
            await db.SaveChangesAsync();
        }

        await using var other = Open();
        other.Members.Add(Member("m-2", [1, 2, 3, 4]));

        var error = await Assert.ThrowsAsync<DbUpdateException>(() => other.SaveChangesAsync());
        Assert.Contains("UNIQUE", error.InnerException?.Message);
    }

    [Fact]
    public async Task Many_members_may_have_no_phone()
    {
        await MigrateAsync();
        await using var db = Open();
        db.Members.AddRange(Member("m-1", null), Member("m-2", null), Member("m-3", [5]));

        await db.SaveChangesAsync();

        Assert.Equal(2, await db.Members.CountAsync(m => m.PhoneIndex == null));
    }

    [Fact]
    public async Task One_channel_identity_cannot_belong_to_two_members()
    {
        await MigrateAsync();
        await using (var db = Open())
        {
            var first = Member("m-1", null);
            first.Identities.Add(new ChannelIdentityRecord { Channel = 2, ExternalId = "o-1", MemberId = "m-1" });
            db.Members.AddRange(first, Member("m-2", null));
            await db.SaveChangesAsync();
        }

        await using var other = Open();
        other.ChannelIdentities.Add(new ChannelIdentityRecord { Channel = 2, ExternalId = "o-1", MemberId = "m-2" });

        await Assert.ThrowsAsync<DbUpdateException>(() => other.SaveChangesAsync());
    }

    [Fact]
    public async Task The_same_external_id_may_exist_in_two_channels()
    {
        await MigrateAsync();
        await using var db = Open();
        var member = Member("m-1", null);
        member.Identities.Add(new ChannelIdentityRecord { Channel = 2, ExternalId = "same", MemberId = "m-1" });
        member.Identities.Add(new ChannelIdentityRecord { Channel = 3, ExternalId = "same", MemberId = "m-1" });
        db.Members.Add(member);

        await db.SaveChangesAsync();

        Assert.Equal(2, await db.ChannelIdentities.CountAsync());
    }

    [Fact]
    public async Task The_upgrade_completes_erasures_made_before_erasure_removed_everything()
    {
        Directory.CreateDirectory(Path.GetDirectoryName(DatabasePath)!);
        await using (var db = Open())
        {
            await db.GetService<Microsoft.EntityFrameworkCore.Migrations.IMigrator>().MigrateAsync("20261123121428_CallersAndPrivacy");
            // What an erasure used to leave: the free-text reason, the ledger and orders under the id, merge records, partner links.
            await db.Database.ExecuteSqlRawAsync("""
                INSERT INTO members (Id, State, Gender, EnrolledChannel, EnrolledStoreId, CreatedAt, UpdatedAt, Version, ErasedAt, ErasureReason)
                    VALUES ('m1', 3, 0, 1, 'S001', 5, 5, 2, 7, '王芳 called from 13800138000');
                INSERT INTO members (Id, State, Gender, EnrolledChannel, CreatedAt, UpdatedAt, Version, MergedIntoId)
                    VALUES ('m0', 2, 0, 2, 4, 4, 2, 'm1');
                INSERT INTO loyalty_accounts (MemberId, GrowthTierCode, AssessmentAt, Growth, PointsBalance, Version, UpdatedAt)
                    VALUES ('m1', 'normal', 0, 100, 100, 1, 5);
                INSERT INTO points_entries (MemberId, Kind, Points, BalanceAfter, Reference, Reason, CreatedAt)
                    VALUES ('m1', 1, 100, 100, 'order:1:O-1', 'gift for 王芳', 5);
                INSERT INTO points_lots (MemberId, Points, Remaining, EarnedAt, ExpiresAt, Source) VALUES ('m1', 100, 100, 5, 9, 'order:1:O-1');
                INSERT INTO orders (Channel, OrderId, MemberId, StoreId, GuideId, AmountFen, PaidAt, PointsEarned, GrowthEarned, RefundedFen,
                    PointsReversed, GrowthReversed, Partner) VALUES (1, 'O-1', 'm1', 'S001', 'G007', 10000, 5, 100, 100, 0, 0, 0, 0);
                INSERT INTO merges (Id, SurvivorId, AbsorbedId, Kind, Reason, Actor, MovedIdentities, FilledFields, MergedAt)
                    VALUES ('g1', 'm1', 'm0', 2, 'dup', 'ops', '[{{"c":2,"x":"o-openid"}}]', '', 6);
                INSERT INTO partner_links (ClientId, PartnerMemberId, MemberId) VALUES ('c1', 'pm_1', 'm1');
                INSERT INTO idempotency_keys (Scope, Key, RequestHash, Response, FailureReason, CreatedAt)
                    VALUES ('redeem', 'r-refused', x'00', x'00', 'INSUFFICIENT_POINTS', 5);
                """);
            // Keyed writes of that time name their member only inside the response.
            foreach (var (key, memberId) in new[] { ("1:O-1", "m1"), ("1:O-2", "m2") })
            {
                var response = Google.Protobuf.MessageExtensions.ToByteArray(new Identity.V1.RecordOrderResponse { MemberId = memberId, PointsEarned = 5 });
                await db.Database.ExecuteSqlAsync(
                    $"INSERT INTO idempotency_keys (Scope, Key, RequestHash, Response, CreatedAt) VALUES ('order', {key}, x'01', {response}, 5)");
            }
        }

        await MigrateAsync();

        await using var check = Open();
        var member = await check.Members.SingleAsync(m => m.Id == "m1");
        Assert.Equal((MemberRowState.Erased, 0, null, null), (member.State, member.ErasureReasonCode, member.ErasureTicketRef, member.EnrolledStoreId));
        Assert.Empty(await check.Merges.ToListAsync());
        Assert.Empty(await check.PartnerLinks.ToListAsync());
        var account = await check.LoyaltyAccounts.SingleAsync();
        Assert.StartsWith("erased_", account.MemberId, StringComparison.Ordinal);
        var entry = await check.PointsEntries.SingleAsync();
        Assert.Equal((account.MemberId, "order", null), (entry.MemberId, entry.Reference, entry.Reason));
        Assert.Equal(("order", account.MemberId), await check.PointsLots.Select(l => ValueTuple.Create(l.Source, l.MemberId)).SingleAsync());
        var order = await check.Orders.SingleAsync();
        Assert.Equal((account.MemberId, null, null, 10000L), (order.MemberId, order.StoreId, order.GuideId, order.AmountFen));
        Assert.NotEqual("O-1", order.OrderId);
        // The erased member's keyed write is gone; another member's now names it; the refusal that named no one is gone.
        Assert.Equal([("1:O-2", "m2")], await check.IdempotencyKeys.Select(k => ValueTuple.Create(k.Key, k.MemberId)).ToListAsync());
    }

    [Fact]
    public async Task Health_is_unhealthy_until_the_database_is_migrated()
    {
        var readiness = new DatabaseReadiness();
        var check = new DatabaseHealthCheck(readiness, HealthOptions());

        Assert.Equal(HealthStatus.Unhealthy, (await check.CheckHealthAsync(new HealthCheckContext())).Status);

        await MigrateAsync(readiness);

        Assert.Equal(HealthStatus.Healthy, (await check.CheckHealthAsync(new HealthCheckContext())).Status);
    }

    [Fact]
    public async Task Health_needs_the_readiness_flag_and_a_database_it_can_read_now()
    {
        var readiness = new DatabaseReadiness();
        var check = new DatabaseHealthCheck(readiness, HealthOptions());
        Assert.Equal(HealthStatus.Unhealthy, (await check.CheckHealthAsync(new HealthCheckContext())).Status);

        // Marked ready but no file: the probe does not create one, and says the store is unreachable.
        readiness.MarkReady();
        var missing = await check.CheckHealthAsync(new HealthCheckContext());
        Assert.Equal(HealthStatus.Unhealthy, missing.Status);
        Assert.Contains("unreachable", missing.Description, StringComparison.Ordinal);
        Assert.False(File.Exists(DatabasePath));

        // One probe answers for a while (health checks come at any rate): the next one finds the migrated file.
        await MigrateAsync(readiness);
        await Task.Delay(DatabaseHealthCheck.ReuseMilliseconds + 50);
        Assert.Equal(HealthStatus.Healthy, (await check.CheckHealthAsync(new HealthCheckContext())).Status);
    }

    IOptions<IdentityOptions> HealthOptions() =>
        Options.Create(new IdentityOptions { DataDirectory = root, Database = new DatabaseOptions { Path = DatabasePath } });

    sealed class ContextFactory(DbContextOptions<IdentityDbContext> options) : IDbContextFactory<IdentityDbContext>
    {
        public IdentityDbContext CreateDbContext() => new(options);
    }
}
