using Google.Protobuf.WellKnownTypes;
using Identity.Service.Members;
using Identity.Service.Storage;
using Identity.V1;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Loyalty;

/// <summary>Loyalty accounts: created on first use, growth over the rolling window, and the member snapshot.</summary>
public static class LoyaltyAccounts
{
    public static async Task<LoyaltyAccountRecord> EnsureAsync(IdentityDbContext db, LoyaltyProgram program, MemberRecord member,
        DateTimeOffset now, CancellationToken ct)
    {
        var account = await db.LoyaltyAccounts.FirstOrDefaultAsync(a => a.MemberId == member.Id, ct);
        if (account is not null)
            return account;
        var state = TierEvaluator.NewMember(program, member.CreatedAt);
        account = new LoyaltyAccountRecord
        {
            MemberId = member.Id, GrowthTierCode = state.GrowthTierCode, AssessmentAt = state.AssessmentAt, UpdatedAt = now,
        };
        db.LoyaltyAccounts.Add(account);
        return account;
    }

    /// <summary>
    /// Growth in the window ending at <paramref name="asOf"/>: the saved events, plus <paramref name="unsaved"/> (growth
    /// of events added in this write and not saved yet, when they fall in the window).
    /// </summary>
    public static async Task<long> GrowthAsync(IdentityDbContext db, LoyaltyProgram program, string memberId, DateTimeOffset asOf, CancellationToken ct,
        long unsaved = 0)
    {
        var from = asOf.AddMonths(-program.Growth.WindowMonths);
        var to = GrowthWindowEnd(asOf);
        var sum = await db.GrowthEvents.Where(g => g.MemberId == memberId && g.OccurredAt > from && g.OccurredAt <= to)
            .SumAsync(g => (long?)g.Amount, ct) ?? 0;
        return Math.Max(0, sum + unsaved);
    }

    /// <summary>Whether an event at <paramref name="at"/> counts in the growth window ending at <paramref name="asOf"/>.</summary>
    public static bool InGrowthWindow(LoyaltyProgram program, DateTimeOffset at, DateTimeOffset asOf) =>
        at > asOf.AddMonths(-program.Growth.WindowMonths) && at <= GrowthWindowEnd(asOf);

    /// <summary>
    /// The last instant the growth window ending at <paramref name="asOf"/> counts: an order may be dated up to the clock
    /// skew ahead of the server's clock (a till whose clock runs fast), and its growth counts from the moment it is
    /// recorded, not from its date.
    /// </summary>
    public static DateTimeOffset GrowthWindowEnd(DateTimeOffset asOf) => asOf + LoyaltyRequests.FutureSkew;

    public static TierState State(LoyaltyAccountRecord account) =>
        new(account.GrowthTierCode, account.AssessmentAt, account.PaidTierCode, account.PaidExpiresAt);

    public static void Apply(LoyaltyAccountRecord account, TierState state)
    {
        account.GrowthTierCode = state.GrowthTierCode;
        account.AssessmentAt = state.AssessmentAt;
        account.PaidTierCode = state.PaidTierCode;
        account.PaidExpiresAt = state.PaidExpiresAt;
    }

    /// <summary>Marks the account changed; its version is bumped when it is saved (CacheChangeInterceptor).</summary>
    public static void Touch(LoyaltyAccountRecord account, DateTimeOffset now) => account.UpdatedAt = now;

    /// <summary>
    /// Everything the quote needs about a member. A member with no account yet gets the program's entry state.
    /// <paramref name="member"/> is the reply form of the member, for snapshots that are cached and served; a write
    /// that only needs the quote passes null and skips decrypting the phone.
    /// </summary>
    public static MemberSnapshot Snapshot(Member? member, MemberRecord record, LoyaltyAccountRecord? account, LoyaltyProgram program)
    {
        var snapshot = new MemberSnapshot();
        if (member is not null)
            snapshot.Member = member;
        (snapshot.BirthdayMonth, snapshot.BirthdayDay) = BirthdayParts(record.Birthday);
        if (account is null)
        {
            var state = TierEvaluator.NewMember(program, record.CreatedAt);
            snapshot.GrowthTierCode = state.GrowthTierCode;
            snapshot.TierAssessmentAt = Timestamp.FromDateTimeOffset(state.AssessmentAt);
            return snapshot;
        }
        snapshot.GrowthTierCode = account.GrowthTierCode;
        snapshot.Growth = account.Growth;
        snapshot.PointsBalance = account.PointsBalance;
        snapshot.TierAssessmentAt = Timestamp.FromDateTimeOffset(account.AssessmentAt);
        snapshot.LoyaltyVersion = account.Version;
        if (account is { PaidTierCode: { } paid, PaidExpiresAt: { } expires })
        {
            snapshot.PaidTierCode = paid;
            snapshot.PaidTierExpiresAt = Timestamp.FromDateTimeOffset(expires);
        }
        return snapshot;
    }

    public static TierInfo Info(TierDefinition tier) => new() { Code = tier.Code, Name = tier.Name, Paid = tier.Paid is not null, Rank = tier.Rank };

    static (int Month, int Day) BirthdayParts(string? birthday) => birthday switch
    {
        { Length: 10 } full => (int.Parse(full.AsSpan(5, 2)), int.Parse(full.AsSpan(8, 2))),
        { Length: 7 } yearless => (int.Parse(yearless.AsSpan(2, 2)), int.Parse(yearless.AsSpan(5, 2))),
        _ => (0, 0),
    };
}
