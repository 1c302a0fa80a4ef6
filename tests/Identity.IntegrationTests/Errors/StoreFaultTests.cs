using System.Diagnostics;
using Google.Rpc;
using Grpc.Core;
using Microsoft.Data.Sqlite;

namespace Identity.IntegrationTests.Errors;

/// <summary>
/// A busy or full store is UNAVAILABLE with RetryInfo (STORE_BUSY / STORE_FULL), never INTERNAL; nothing acknowledged is
/// lost, reads go on, and writes work again by themselves once the fault passes.
/// </summary>
public sealed class StoreFaultTests
{
    static async Task<RpcException> Unavailable(string reason, Func<Task> call)
    {
        var error = await Rpc.FailsWith(StatusCode.Unavailable, call);
        Assert.Equal(reason, error.Reason());
        var retry = error.GetRpcStatus()?.GetDetail<RetryInfo>();
        Assert.NotNull(retry);
        Assert.True(retry.RetryDelay.ToTimeSpan() > TimeSpan.Zero);
        return error;
    }

    static void NoErrorLines(IdentityServer server)
    {
        // The health publisher may report "not migrated yet" at Error while a slow start migrates; that is not about these calls.
        var errors = server.Logs.Lines.Where(l => (l.StartsWith("Error ", StringComparison.Ordinal) || l.StartsWith("Critical ", StringComparison.Ordinal))
            && !l.Contains("Microsoft.Extensions.Diagnostics.HealthChecks", StringComparison.Ordinal)).ToList();
        Assert.True(errors.Count == 0, string.Join("\n---\n", errors.Select(e => e.Length > 600 ? e[..600] : e)));
    }

    [SqliteFact("another process holds the SQLite file's write lock; PostgreSQL's own faults are in PostgresFaultTests")]
    public async Task A_write_lock_held_past_the_busy_timeout_is_store_busy_and_the_same_writes_succeed_after()
    {
        await using var server = await IdentityServer.StartAsync(null, "--Identity:Database:BusyTimeoutSeconds=1");
        var acknowledged = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var phone = TestData.Phone();
            await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone));
            acknowledged.Add(phone);
        }
        var before = server.Count("members");

        var held = TestData.Phone();
        var queued = new[] { TestData.Phone(), TestData.Phone() };
        using (var holder = new SqliteConnection($"Data Source={server.DatabasePath};Pooling=False"))
        {
            holder.Open();
            using (var begin = holder.CreateCommand())
            {
                begin.CommandText = "BEGIN IMMEDIATE";
                begin.ExecuteNonQuery();
            }
            var started = Stopwatch.StartNew();
            // One write waits on the file lock, the others on the in-process gate behind it: all give up, none hangs.
            await Task.WhenAll(new[] { held }.Concat(queued).Select(phone =>
                Unavailable("STORE_BUSY", () => server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone)).ResponseAsync)));
            Assert.True(started.Elapsed < TimeSpan.FromSeconds(10), $"took {started.Elapsed}");

            // Reads go on meanwhile (WAL).
            Assert.Equal(TestData.Masked(acknowledged[0]), (await server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = acknowledged[0] })).Member.MaskedPhone);
            using var rollback = holder.CreateCommand();
            rollback.CommandText = "ROLLBACK";
            rollback.ExecuteNonQuery();
        }
        Assert.Equal(before, server.Count("members"));

        foreach (var phone in queued.Prepend(held))
        {
            Assert.True((await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone))).Created);
            acknowledged.Add(phone);
        }
        Assert.Equal(before + 3, server.Count("members"));
        foreach (var phone in acknowledged)
            Assert.Equal(TestData.Masked(phone), (await server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone })).Member.MaskedPhone);
        NoErrorLines(server);
    }

    [RootFact(SqliteOnly = "the SQLite file fills a small tmpfs")]
    public async Task A_full_disk_is_store_full_reads_go_on_and_writes_resume_when_space_returns()
    {
        await using var disk = await SmallDisk.MountAsync(megabytes: 8);
        await using var server = await IdentityServer.StartAsync(Path.Combine(disk.Path, "data"));
        var phone = TestData.Phone();
        var member = (await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone))).Member;
        var key = new MemberKey { MemberId = member.MemberId };
        await server.Loyalty.RecordOrderAsync(new RecordOrderRequest { Member = key, Channel = Channel.Pos, OrderId = "full-1", AmountFen = 10_000 });

        var entriesBefore = (await server.Loyalty.ListPointsEntriesAsync(new ListPointsEntriesRequest { Member = key, PageSize = 100 })).Entries.Count;

        disk.Fill();
        var refused = 0;
        var acknowledged = new List<string>();
        // Each commit appends to the WAL, so writes soon need fresh blocks. A WAL the background checkpoint has just
        // emptied is rewritten from its start in blocks it already owns, so the first writes may still fit: each loop
        // below writes until one is refused (the 8 MB disk bounds how many can fit).
        const int MaxWrites = 400;
        for (var i = 0; i < MaxWrites && refused == 0; i++)
        {
            var candidate = TestData.Phone();
            try
            {
                await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(candidate));
                acknowledged.Add(candidate);
            }
            catch (RpcException e)
            {
                Assert.True(e.StatusCode == StatusCode.Unavailable && e.Reason() == "STORE_FULL", $"{e.StatusCode} {e.Reason()}: {e.Status.Detail}");
                Assert.NotNull(e.GetRpcStatus()?.GetDetail<RetryInfo>());
                refused++;
            }
        }
        Assert.True(refused > 0, "no write was refused on a full disk");
        // An order is refused the same way. A WAL that was just checkpointed is rewritten from its start in blocks it
        // already owns, so a write may still fit; the next ones need new blocks.
        string? refusedOrder = null;
        var ordersAcknowledged = 0;
        for (var i = 0; i < MaxWrites && refusedOrder is null; i++)
        {
            var orderId = $"full-2-{i}";
            try
            {
                await server.Loyalty.RecordOrderAsync(new RecordOrderRequest { Member = key, Channel = Channel.Pos, OrderId = orderId, AmountFen = 10_000 });
                ordersAcknowledged++;
            }
            catch (RpcException e)
            {
                Assert.True(e.StatusCode == StatusCode.Unavailable && e.Reason() == "STORE_FULL", $"{e.StatusCode} {e.Reason()}: {e.Status.Detail}");
                Assert.NotNull(e.GetRpcStatus()?.GetDetail<RetryInfo>());
                refusedOrder = orderId;
            }
        }
        Assert.True(refusedOrder is not null, "no order was refused on a full disk");

        // Reads keep working: the member, the points account and the ledger come from the store.
        Assert.Equal(member.MemberId, (await server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone })).Member.MemberId);
        Assert.True((await server.Loyalty.GetPointsAccountAsync(new GetPointsAccountRequest { Member = key })).Balance > 0);
        Assert.NotEmpty((await server.Loyalty.ListPointsEntriesAsync(new ListPointsEntriesRequest { Member = key })).Entries);

        disk.Free();
        // No restart, no retry loop: the very next writes succeed, on whichever pooled connection they get.
        for (var i = 0; i < 5; i++)
        {
            var after = TestData.Phone();
            Assert.True((await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(after))).Created);
            acknowledged.Add(after);
        }
        // The refused order was not half-recorded: its retry is a first write, and the ledger holds every acknowledged order once.
        Assert.False((await server.Loyalty.RecordOrderAsync(new RecordOrderRequest { Member = key, Channel = Channel.Pos, OrderId = refusedOrder, AmountFen = 10_000 })).Replayed);
        Assert.Equal(entriesBefore + ordersAcknowledged + 1, (await server.Loyalty.ListPointsEntriesAsync(new ListPointsEntriesRequest { Member = key, PageSize = 500 })).Entries.Count);
        Assert.Empty((await server.Loyalty.VerifyLedgerAsync(new VerifyLedgerRequest())).Problems);
        Assert.Equal(1 + acknowledged.Count, server.Count("members"));
        foreach (var enrolled in acknowledged)
            Assert.Equal(TestData.Masked(enrolled), (await server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = enrolled })).Member.MaskedPhone);
        NoErrorLines(server);
    }
}
