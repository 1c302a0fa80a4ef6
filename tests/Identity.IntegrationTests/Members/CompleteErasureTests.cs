using System.Text;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Identity.Service.Caching;
using Microsoft.Data.Sqlite;
using StackExchange.Redis;

namespace Identity.IntegrationTests.Members;

/// <summary>
/// After an erasure nothing that identifies the person is left in any file of the data directory or in the logs,
/// including what a merged-in member brought along; the ledger stays consistent under its tombstone.
/// </summary>
public sealed class CompleteErasureTests : IAsyncLifetime
{
    RedisProcess redis = null!;
    IdentityServer server = null!;

    public async Task InitializeAsync()
    {
        redis = await RedisProcess.StartAsync();
        server = await IdentityServer.StartAsync(null, [$"--Redis:Configuration={redis.Configuration}"]);
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!server.Service<RedisCache>().IsConnected && DateTime.UtcNow < deadline)
            await Task.Delay(20);
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        await redis.DisposeAsync();
    }

    [Fact]
    public async Task Nothing_that_identifies_the_person_remains_in_the_store_files_or_the_logs()
    {
        var members = server.Members;
        var loyalty = server.Loyalty;
        var phone = TestData.Phone();
        var (openId, unionId) = (TestData.OpenId(), "u" + Guid.NewGuid().ToString("N"));
        var (absorbedOpenId, absorbedUnionId) = (TestData.OpenId(), "u" + Guid.NewGuid().ToString("N"));
        const string name = "欧阳娜娜";
        const string absorbedName = "欧阳小娜";
        const string birthday = "1987-11-23";
        var orderId = "POS-" + Guid.NewGuid().ToString("N");
        var absorbedOrderId = "POS-" + Guid.NewGuid().ToString("N");
        var partnerOrderId = "PO-" + Guid.NewGuid().ToString("N");
        const string legacyReason = "LEGACY-FREE-TEXT-REASON";

        var member = (await members.EnrollMemberAsync(new EnrollMemberRequest
        {
            Phone = phone, ChannelIdentity = TestData.MiniProgram(openId, unionId),
            Profile = new Profile { Name = name, Gender = Gender.Female, Birthday = birthday }, Source = TestData.Pos("S-ERASE", "G-ERASE"),
        })).Member;
        // Another member (a fan, with its own identities, name and purchases) is merged into the person.
        var absorbed = (await members.EnrollMemberAsync(new EnrollMemberRequest
        {
            ChannelIdentity = TestData.MiniProgram(absorbedOpenId, absorbedUnionId), Profile = new Profile { Name = absorbedName },
            Source = TestData.MiniProgramSource(),
        })).Member;
        await loyalty.RecordOrderAsync(Order(absorbed.MemberId, absorbedOrderId, 30_000));
        var merge = await members.MergeMembersAsync(new MergeMembersRequest
        {
            SurvivorMemberId = member.MemberId, AbsorbedMemberId = absorbed.MemberId, Reason = $"same person {absorbedName}", Operator = "ops-erasure",
        });
        Assert.NotEmpty(merge.Merge.MovedIdentities);

        await loyalty.RecordOrderAsync(Order(member.MemberId, orderId, 120_000));
        await loyalty.RedeemPointsAsync(new RedeemPointsRequest
        {
            Member = new MemberKey { Phone = phone }, RequestId = "R-" + Guid.NewGuid().ToString("N"), Points = 50, Reason = $"gift for {name}",
        });
        await Rpc.FailsWith(StatusCode.FailedPrecondition, loyalty.RedeemPointsAsync(new RedeemPointsRequest
        {
            Member = new MemberKey { MemberId = member.MemberId }, RequestId = "R-" + Guid.NewGuid().ToString("N"), Points = 1_000_000,
        }));
        await loyalty.CheckInAsync(new CheckInRequest
        {
            Member = new MemberKey { MemberId = member.MemberId }, Channel = Channel.WechatMiniProgram, RequestId = "C-" + Guid.NewGuid().ToString("N"),
        });
        // A keyed consent keeps its reply, the whole member (name, identities), under its request id.
        await members.SetConsentAsync(new SetConsentRequest
        {
            MemberId = member.MemberId, Purpose = ConsentPurpose.PartnerSharing, Granted = true, Channel = Channel.WechatMiniProgram,
            RequestId = "K-" + Guid.NewGuid().ToString("N"),
        });
        var partner = new PartnerService.PartnerServiceClient(server.WithKey(await server.CreateClientAsync("partner", ClientRole.Partner)));
        var seen = await partner.CheckMembershipAsync(new CheckMembershipRequest { Phone = phone });
        Assert.True(seen.IsMember);
        await partner.RecordPartnerOrderAsync(new RecordPartnerOrderRequest
        {
            PartnerMemberId = seen.PartnerMemberId, OrderId = partnerOrderId, AmountFen = 8_800, PaidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        });

        string[] Secrets() =>
        [
            phone, "+86" + phone, name, absorbedName, birthday, openId, unionId, absorbedOpenId, absorbedUnionId,
            orderId, absorbedOrderId, partnerOrderId, seen.PartnerMemberId, "S-ERASE", "G-ERASE", legacyReason,
        ];

        // Reads through the cache put the person's snapshot (name, identities, enrolment store) into Redis.
        await members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone });
        await members.ResolveMemberAsync(new ResolveMemberRequest { ChannelIdentity = TestData.MiniProgram(absorbedOpenId) });
        await members.ResolveMemberAsync(new ResolveMemberRequest { MemberId = absorbed.MemberId });
        var erased = await members.EraseMemberAsync(new EraseMemberRequest
        {
            MemberId = member.MemberId, ReasonCode = ErasureReason.MemberRequest, TicketRef = "DSR-2026_0042",
#pragma warning disable CS0612 // An older client's free text is accepted and must go nowhere.
            Reason = legacyReason,
#pragma warning restore CS0612
        });
        Assert.False(erased.AlreadyErased);
        Assert.Equal(ErasureReason.MemberRequest, erased.ReasonCode);
        Assert.Equal("DSR-2026_0042", erased.TicketRef);
        // Every cached copy went with it (looking the person's keys up again, below, is a new caller's doing).
        await AssertNotInRedisAsync(Secrets());

        // The merge records no longer tell which identities the person had, from either id.
        Assert.Empty((await members.GetMergeHistoryAsync(new GetMergeHistoryRequest { MemberId = member.MemberId })).Merges);
        Assert.Empty((await members.GetMergeHistoryAsync(new GetMergeHistoryRequest { MemberId = absorbed.MemberId })).Merges);
        var viaAbsorbed = await Rpc.FailsWith(StatusCode.NotFound, members.ResolveMemberAsync(new ResolveMemberRequest { MemberId = absorbed.MemberId }));
        Assert.Equal("MEMBER_ERASED", viaAbsorbed.Reason());
        await Rpc.FailsWith(StatusCode.NotFound, members.ResolveMemberAsync(new ResolveMemberRequest
        {
            ChannelIdentity = new ChannelIdentity { Channel = Channel.WechatUnion, ExternalId = absorbedUnionId },
        }));
        Assert.False((await partner.CheckMembershipAsync(new CheckMembershipRequest { PartnerMemberId = seen.PartnerMemberId })).IsMember);
        // The POS's order ids no longer find the orders.
        await Rpc.FailsWith(StatusCode.NotFound, loyalty.RecordRefundAsync(new RecordRefundRequest
        {
            Channel = Channel.Pos, OrderId = orderId, RefundId = "RF-" + Guid.NewGuid().ToString("N"), AmountFen = 100,
            RefundedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        }));

        // Accounting stays whole: the accounts are there, under tombstones, and consistent.
        var ledger = await loyalty.VerifyLedgerAsync(new VerifyLedgerRequest());
        Assert.Empty(ledger.Problems);
        Assert.True(ledger.AccountsChecked >= 2);
        Assert.Equal(3, server.Count("orders"));
        // Audit rows are buffered: those of the calls just before the erasure are written now, after it.
        await server.Service<Identity.Service.Security.AuditTrail>().FlushAsync(CancellationToken.None);
        AssertIdsOnlyInErasureRecords(member.MemberId, absorbed.MemberId);

        var secrets = Secrets();
        AssertNowhere(secrets, "while running");
        // An orderly stop leaves the same: nothing comes back from the log or free pages.
        await server.App.StopAsync();
        AssertNowhere(secrets, "after stop");
    }

    static RecordOrderRequest Order(string memberId, string orderId, long amountFen) => new()
    {
        Member = new MemberKey { MemberId = memberId }, Channel = Channel.Pos, OrderId = orderId, StoreId = "S-ERASE", GuideId = "G-ERASE",
        AmountFen = amountFen, PaidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-5)),
    };

    /// <summary>Raw bytes of every file in the data directory (database, -wal, -shm and any other) and the whole log.</summary>
    void AssertNowhere(IEnumerable<string> secrets, string when)
    {
        // SQLite: every file of the data directory. PostgreSQL: every row of every table (the data directory holds keys only).
        var files = server.IsPostgres
            ? server.StoredContents().Select(c => (Path: c.Where, c.Bytes)).ToList()
            : Directory.GetFiles(server.DataDirectory, "*", SearchOption.AllDirectories)
                .Select(path => (Path: Path.GetFileName(path), Bytes: ReadShared(path))).ToList();
        Assert.Contains(files, f => f.Path is "identity.db" or "members");
        var found = new List<string>();
        foreach (var secret in secrets)
        {
            foreach (var (path, bytes) in files)
            {
                if (bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) >= 0 || bytes.AsSpan().IndexOf(Encoding.Unicode.GetBytes(secret)) >= 0)
                    found.Add($"'{secret}' in {path}");
            }
            if (server.Logs.AllText.Contains(secret, StringComparison.Ordinal))
                found.Add($"'{secret}' in the log: " + server.Logs.Lines.First(l => l.Contains(secret, StringComparison.Ordinal)));
        }
        Assert.True(found.Count == 0, $"{when}: {string.Join("; ", found)}");
    }

    /// <summary>Every key and value in Redis (the cache's second level).</summary>
    async Task AssertNotInRedisAsync(IEnumerable<string> secrets)
    {
        Assert.True(server.Service<RedisCache>().IsConnected, "the test runs with Redis");
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration + ",allowAdmin=true");
        var database = connection.GetDatabase();
        var contents = new List<byte[]>();
        await foreach (var key in connection.GetServer(redis.Configuration).KeysAsync(pattern: "*"))
        {
            contents.Add(key.ToString() is { } name ? Encoding.UTF8.GetBytes(name) : []);
            switch (await database.KeyTypeAsync(key))
            {
                case RedisType.String:
                    contents.Add((byte[]?)(await database.StringGetAsync(key)) ?? []);
                    break;
                case RedisType.Hash:
                    contents.AddRange((await database.HashGetAllAsync(key)).SelectMany(e => new[] { (byte[])e.Name!, (byte[])e.Value! }));
                    break;
            }
        }
        Assert.NotEmpty(contents);
        var found = secrets.Where(secret => contents.Any(c => c.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) >= 0)).ToList();
        Assert.True(found.Count == 0, "In Redis: " + string.Join(", ", found));
    }

    static byte[] ReadShared(string path)
    {
        // SQLite removes -wal and -shm when its last connection closes, which may happen between listing and reading.
        if (!File.Exists(path))
            return [];
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        }
        catch (FileNotFoundException)
        {
            return [];
        }
        using var _ = stream;
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>
    /// The member ids survive only as the erasure records (the member rows, which hold nothing personal, and the audit
    /// row of the erasure call itself): no other row of any table names them, so nothing links them to the tombstones.
    /// </summary>
    void AssertIdsOnlyInErasureRecords(params string[] ids)
    {
        if (server.IsPostgres)
        {
            // The same search on PostgreSQL: every column of every table, cast to text.
            var where = server.StoredContents().Where(c => c.Where != "members" && c.Where != "audit_events"
                && ids.Any(id => c.Bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(id)) >= 0)).Select(c => c.Where).ToList();
            var audit = ids.Sum(id => server.Scalar(
                """SELECT COUNT(*) FROM audit_events WHERE "MemberId" = @id AND "Rpc" NOT LIKE '%/EraseMember'""", id));
            var memberRows = ids.Sum(id => server.Scalar(
                """SELECT COUNT(*) FROM members WHERE strpos(row_to_json(members)::text, @id) > 0 AND "Id" <> @id AND coalesce("MergedIntoId", '') <> @id""", id));
            Assert.True(where.Count == 0 && audit == 0 && memberRows == 0,
                $"Rows still name the erased member: {string.Join(", ", where)}; audit rows {audit}; member rows {memberRows}");
            return;
        }
        using var connection = new SqliteConnection($"Data Source={server.DatabasePath};Mode=ReadOnly;Pooling=False");
        connection.Open();
        var tables = Query(connection, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '__EF%'");
        var found = new List<string>();
        foreach (var table in tables)
        {
            foreach (var column in Query(connection, $"SELECT name FROM pragma_table_info('{table}')"))
            {
                foreach (var id in ids)
                {
                    var allowed = table switch
                    {
                        "members" => column is "Id" or "MergedIntoId",
                        "audit_events" => false,
                        _ => false,
                    };
                    var where = table == "audit_events" ? $" AND \"Rpc\" NOT LIKE '%/EraseMember'" : "";
                    using var command = connection.CreateCommand();
                    command.CommandText = $"SELECT COUNT(*) FROM \"{table}\" WHERE instr(CAST(\"{column}\" AS BLOB), CAST($id AS BLOB)) > 0{where}";
                    command.Parameters.AddWithValue("$id", id);
                    if (!allowed && (long)command.ExecuteScalar()! > 0)
                        found.Add($"{table}.{column}");
                }
            }
        }
        Assert.True(found.Count == 0, "Rows still name the erased member: " + string.Join(", ", found));
    }

    static List<string> Query(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var values = new List<string>();
        while (reader.Read())
            values.Add(reader.GetString(0));
        return values;
    }
}
