using FsCheck;
using FsCheck.Fluent;
using Grpc.Core;
using Identity.Service.Errors;
using Identity.Service.Hosting;
using Identity.Service.Loyalty;
using Identity.Service.Loyalty.Writes;
using Identity.Service.Caching;
using Identity.Service.Members;
using Identity.Service.Phones;
using Identity.Service.Storage;
using Identity.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Identity.UnitTests.Loyalty;

/// <summary>
/// Random sequences of orders, redemptions, refunds, adjustments and time passing (with expiry) against the real ledger
/// on a real SQLite file: the balance is always the sum of the entries and never negative, spending takes the
/// soonest-expiring lots first, and replaying a whole sequence with the same keys changes nothing.
/// </summary>
public sealed class LedgerPropertyTests : IAsyncLifetime
{
    readonly string root = Path.Combine(Path.GetTempPath(), "identity-ledger-props", Guid.NewGuid().ToString("N"));
    readonly Clock clock = new(new DateTimeOffset(2026, 1, 5, 4, 0, 0, TimeSpan.Zero));
    WebApplication app = null!;
    int caseNumber;

    public abstract record Op;

    public sealed record Order(long AmountFen) : Op;

    public sealed record Redeem(long Points) : Op;

    public sealed record Refund(int OrderPick, int Percent) : Op;

    public sealed record Adjust(long Points) : Op;

    public sealed record Advance(int Days) : Op;

    public async Task InitializeAsync()
    {
        app = IdentityApp.Build(["--Identity:DataDirectory=" + root, "--Identity:Maintenance:IntervalMinutes=0"], builder =>
        {
            builder.Logging.ClearProviders();
            builder.Services.AddSingleton<TimeProvider>(clock);
        });
        foreach (var migrator in app.Services.GetServices<IHostedService>().OfType<DatabaseMigrator>())
            await migrator.StartAsync(CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await app.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(root, recursive: true);
    }

    static Arbitrary<Op[]> Sequences()
    {
        var op = Gen.Frequency(
            (4, Gen.Choose(1, 200_000).Select(fen => (Op)new Order(fen))),
            (3, Gen.Choose(1, 800).Select(points => (Op)new Redeem(points))),
            (2, Gen.Choose(0, 9).SelectMany(pick => Gen.Choose(1, 100).Select(percent => (Op)new Refund(pick, percent)))),
            (2, Gen.Choose(-500, 500).Where(p => p != 0).Select(points => (Op)new Adjust(points))),
            (2, Gen.Choose(1, 240).Select(days => (Op)new Advance(days))));
        return Arb.From(Gen.Choose(1, 25).SelectMany(length => Gen.ArrayOf(op, length)));
    }

    [Fact]
    public void The_ledger_holds_its_invariants_under_any_sequence_and_replays_change_nothing()
    {
        Prop.ForAll(Sequences(), ops => Check(ops).GetAwaiter().GetResult())
            .Check(Config.QuickThrowOnFailure.WithMaxTest(40));
    }

    async Task<bool> Check(Op[] ops)
    {
        var n = Interlocked.Increment(ref caseNumber);
        var directory = app.Services.GetRequiredService<MemberDirectory>();
        var phone = $"139{n:D8}";
        Assert.True(Phone.TryParse(phone, out var parsed, out _));
        var member = (await directory.EnrollAsync(new EnrollCommand(parsed, [], ProfileValues.None, new Source((int)Channel.Pos, null, null)), default)).Member;

        await Run(n, member.Id, ops, replay: false);
        var (balance, entries) = await Totals(member.Id);
        await AssertInvariants(member.Id);

        await Run(n, member.Id, ops, replay: true);
        var (replayedBalance, replayedEntries) = await Totals(member.Id);
        Assert.Equal(balance, replayedBalance);
        Assert.Equal(entries, replayedEntries);
        await AssertInvariants(member.Id);
        return true;
    }

    async Task Run(int n, string memberId, Op[] ops, bool replay)
    {
        var writes = app.Services.GetRequiredService<IdempotentWrites>();
        var orderRecording = app.Services.GetRequiredService<OrderRecording>();
        var refunds = app.Services.GetRequiredService<RefundRecording>();
        var spending = app.Services.GetRequiredService<PointsSpending>();
        var maintenance = app.Services.GetRequiredService<LoyaltyMaintenance>();
        var member = new MemberLookup.ById(memberId);
        var orders = new List<(string Id, long Fen)>();
        var refunded = new Dictionary<string, long>();
        for (var i = 0; i < ops.Length; i++)
        {
            var key = $"c{n}-{i}";
            try
            {
                switch (ops[i])
                {
                    case Order order:
                        // Replays must send the original paid-at: it is part of the order's payload.
                        var paidAt = replay ? OrderTimes[key] : OrderTimes[key] = clock.GetUtcNow();
                        var orderCommand = new OrderCommand(member, Channel.Pos, key, "S001", null, order.AmountFen, paidAt);
                        await writes.RunAsync(IdempotencyKey.Business("order", key, Fingerprint("order", key, order.AmountFen, paidAt)),
                            (db, change, ct) => orderRecording.RecordAsync(db, change, orderCommand, ct), LoyaltyReplies.Order, r => r, default);
                        orders.Add((key, order.AmountFen));
                        break;
                    case Redeem redeem:
                        var redeemCommand = new RedeemCommand(member, key, redeem.Points, null, Channel.Pos, null);
                        await writes.RunAsync(IdempotencyKey.PerClient("redeem", "test", key, Fingerprint("redeem", key, redeem.Points)),
                            (db, change, ct) => spending.RedeemAsync(db, change, redeemCommand, ct), LoyaltyReplies.Redeem, r => r, default);
                        break;
                    case Refund refund when orders.Count > 0:
                        var (orderId, fen) = orders[refund.OrderPick % orders.Count];
                        var left = fen - refunded.GetValueOrDefault(orderId);
                        var amount = Math.Max(1, left * refund.Percent / 100);
                        if (left <= 0)
                            break;
                        var refundCommand = new RefundCommand(Channel.Pos, orderId, key, amount, clock.GetUtcNow());
                        await writes.RunAsync(IdempotencyKey.Business("refund", key, Fingerprint("refund", orderId, amount)),
                            (db, change, ct) => refunds.RecordAsync(db, change, refundCommand, OrderScope.Any, ct), LoyaltyReplies.Refund, r => r, default);
                        refunded[orderId] = refunded.GetValueOrDefault(orderId) + amount;
                        break;
                    case Adjust adjust:
                        var adjustCommand = new AdjustCommand(member, key, adjust.Points, "property test", "test");
                        await writes.RunAsync(IdempotencyKey.PerClient("adjust", "test", key, Fingerprint("adjust", key, adjust.Points)),
                            (db, change, ct) => spending.AdjustAsync(db, change, adjustCommand, ct), LoyaltyReplies.Adjust, r => r, default);
                        break;
                    case Advance advance when !replay:
                        clock.Advance(TimeSpan.FromDays(advance.Days));
                        await maintenance.RunAsync(null, default);
                        break;
                }
            }
            catch (IdentityException e) when (e.Code == StatusCode.FailedPrecondition && e.Reason == ErrorReasons.InsufficientPoints)
            {
                // Redemptions and debits beyond the balance are refused; the sequence goes on.
            }
        }
    }

    readonly Dictionary<string, DateTimeOffset> OrderTimes = [];

    /// <summary>What the caller sent, as a message: the fields that make each operation what it is.</summary>
    static Google.Protobuf.IMessage Fingerprint(params object[] parts) => new Google.Protobuf.WellKnownTypes.ListValue
    {
        Values = { parts.Select(p => Google.Protobuf.WellKnownTypes.Value.ForString(Convert.ToString(p, System.Globalization.CultureInfo.InvariantCulture))) },
    };

    async Task<(long Balance, int Entries)> Totals(string memberId)
    {
        await using var db = await app.Services.GetRequiredService<IDbContextFactory<IdentityDbContext>>().CreateDbContextAsync();
        var balance = await db.LoyaltyAccounts.Where(a => a.MemberId == memberId).Select(a => (long?)a.PointsBalance).SingleOrDefaultAsync() ?? 0;
        return (balance, await db.PointsEntries.CountAsync(e => e.MemberId == memberId));
    }

    async Task AssertInvariants(string memberId)
    {
        var verdict = await app.Services.GetRequiredService<LedgerVerifier>().VerifyAsync(default);
        Assert.Empty(verdict.Problems);

        await using var db = await app.Services.GetRequiredService<IDbContextFactory<IdentityDbContext>>().CreateDbContextAsync();
        var entries = await db.PointsEntries.Where(e => e.MemberId == memberId).OrderBy(e => e.Id).ToListAsync();
        Assert.All(entries, e => Assert.True(e.BalanceAfter >= 0, $"balance went to {e.BalanceAfter}"));

        // Soonest expiry first: in (expiry, id) order, spent lots form a prefix, at most one lot is part-spent, and
        // every lot after it is untouched.
        var lots = await db.PointsLots.Where(l => l.MemberId == memberId).ToListAsync();
        var ordered = lots.OrderBy(l => l.ExpiresAt).ThenBy(l => l.Id).ToList();
        var firstUntouched = ordered.FindIndex(l => l.Remaining == l.Points);
        if (firstUntouched < 0)
            firstUntouched = ordered.Count;
        var partial = ordered.Take(firstUntouched).Count(l => l.Remaining > 0);
        Assert.True(partial <= 1, $"{partial} lots are part-spent before the first untouched one");
        Assert.All(ordered.Skip(firstUntouched), l => Assert.Equal(l.Points, l.Remaining));
        if (partial == 1)
            Assert.Equal(firstUntouched - 1, ordered.FindIndex(l => l.Remaining > 0));
    }

    sealed class Clock(DateTimeOffset start) : TimeProvider
    {
        DateTimeOffset now = start;

        public override DateTimeOffset GetUtcNow() => now;

        public void Advance(TimeSpan by) => now += by;
    }
}
