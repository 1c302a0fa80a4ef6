using Identity.Service.Caching;
using Npgsql;

namespace Identity.IntegrationTests.Caching;

/// <summary>
/// On PostgreSQL a transaction can commit after another that took a later id from the outbox's sequence. Every instance
/// keeps asking for the ids it passed over, so such a row still drops the copies of its key, with no Redis to help.
/// </summary>
public sealed class OutboxGapTests
{
    static bool Holds(IdentityServer server, string memberId) =>
        server.Service<L1Cache>().TryGet<MemberSnapshot>(server.Service<CacheKeys>().Member(memberId), out _);

    // A long bound: an L1 that misses a read within it empties itself, which is not the drop this is about.
    static readonly string[] Args = ["--Identity:Cache:InvalidationBoundMilliseconds=60000"];

    /// <summary>
    /// Enrols a member through <paramref name="writer"/> and has <paramref name="holder"/> keep it in L1 once it has read
    /// the enrolment's own outbox rows (which would drop it again): held over two polls in a row.
    /// </summary>
    static async Task<string> HeldByAsync(IdentityServer writer, IdentityServer holder)
    {
        var phone = TestData.Phone();
        var memberId = (await writer.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone))).Member.MemberId;
        for (var attempt = 0; attempt < 20; attempt++)
        {
            await holder.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone });
            await Task.Delay(500);
            if (Holds(holder, memberId))
            {
                await Task.Delay(500);
                if (Holds(holder, memberId))
                    return memberId;
            }
        }
        throw new TimeoutException("the holder does not keep the member in L1");
    }

    [PostgresFact]
    public async Task A_row_committed_behind_a_later_one_still_drops_the_copies_of_its_key()
    {
        await using var a = await IdentityServer.StartAsync(null, Args);
        await using var b = await IdentityServer.StartAsync(a.DataDirectory, Args);
        await Eventually.TrueAsync(() => b.Service<L1Cache>().InSync);
        var early = await HeldByAsync(a, b);
        var later = await HeldByAsync(a, b);

        // A write takes its outbox id first and commits last.
        await using var connection = new NpgsqlConnection(a.StoreConnectionString);
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var insert = new NpgsqlCommand(
            "INSERT INTO cache_outbox (\"Key\", \"Version\", \"CreatedAt\", \"Applied\") "
            + "SELECT @key, 1, max(\"CreatedAt\"), false FROM cache_outbox", connection, transaction))
        {
            insert.Parameters.AddWithValue("key", b.Service<CacheKeys>().Member(early));
            await insert.ExecuteNonQueryAsync();
        }
        // A later write commits first, and the holder reads past the first one's id.
        await a.Loyalty.RecordOrderAsync(new RecordOrderRequest
        {
            Member = new MemberKey { MemberId = later }, Channel = Channel.Pos, OrderId = "O-" + Guid.NewGuid().ToString("N"), AmountFen = 10_000,
        });
        await Eventually.TrueAsync(() => !Holds(b, later), what: "the holder drops the member of the later write");
        Assert.True(Holds(b, early));

        await transaction.CommitAsync();

        await Eventually.TrueAsync(() => !Holds(b, early), what: "the holder drops the member of the row committed behind");
    }
}
