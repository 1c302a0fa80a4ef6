using Identity.Service.Caching;
using Identity.Service.Members;
using Identity.Service.Storage;

namespace Identity.Service.Loyalty.Writes;

/// <summary>Records a purchase: points at the quoted multiplier, growth, and the tier it leads to.</summary>
public sealed class OrderRecording(AccountOpening accounts, DirectOrderWrite direct, ProgramCatalog catalog, TimeProvider clock)
{
    public async Task<OrderResult> RecordAsync(IdentityDbContext db, CacheChange change, OrderCommand command, CancellationToken ct)
    {
        // The common case (a member resolved before the write, with an account and no points due to expire) is written
        // directly; every other case takes the general path below, with the same rules.
        if (command.Resolved is not null && await direct.TryRecordAsync(db, change, command, ct) is { } recorded)
            return recorded;
        // The direct write looks the order's key up with its reads; when it did not get that far, it is looked up here.
        if (change.Reply is { } kept)
            await kept.LookUpAsync(db, ct);

        var (program, member, account, now) = await accounts.OpenAsync(db, command.Member, ct, command.Resolved);
        var priced = Price(program, member, account, command);
        PointsLedger.Earn(db, account, V1.PointsEntryKind.Earn, priced.Points, priced.ExpiresAt, priced.Reference, null, now);
        db.Orders.Add(new OrderRecord
        {
            Channel = (int)command.Channel, OrderId = command.OrderId, MemberId = member.Id, StoreId = command.StoreId,
            GuideId = command.GuideId, AmountFen = command.AmountFen, PaidAt = command.PaidAt, PointsEarned = priced.Points, GrowthEarned = priced.Growth,
        });
        if (priced.Growth > 0)
            db.GrowthEvents.Add(new GrowthEventRecord { MemberId = member.Id, Amount = priced.Growth, OccurredAt = command.PaidAt, Reference = priced.Reference });

        // Everything is saved once, with the idempotency key: the window's sum is read from the saved events plus this one.
        var growth = await LoyaltyAccounts.GrowthAsync(db, program, member.Id, now, ct, Unsaved(program, command, priced, now));
        return Settle(program, member, account, priced, growth, now);
    }

    /// <summary>What the order earns: points at the multiplier quoted for the member's loyalty state, and growth.</summary>
    internal static OrderPricing Price(LoyaltyProgram program, MemberRecord member, LoyaltyAccountRecord account, OrderCommand command)
    {
        // The quote needs the loyalty state and birthday only: no reply form of the member, no phone decryption.
        var snapshot = LoyaltyAccounts.Snapshot(null, member, account, program);
        var quote = BenefitCalculator.Quote(program, snapshot, new QuoteContext(command.Channel, command.StoreId, command.PaidAt));
        var multiplier = quote.EffectivePointsMultiplierMilli;
        return new OrderPricing(
            PointsMath.OrderPoints(command.AmountFen, program.Points.PerYuanMilli, multiplier),
            PointsMath.Growth(command.AmountFen, program.Growth.PerYuanMilli),
            multiplier,
            PointsMath.ExpiresAt(program, command.PaidAt),
            $"order:{command.Channel}:{command.OrderId}");
    }

    /// <summary>This order's growth when it falls in the window ending now (it is not saved yet when the window is summed).</summary>
    internal static long Unsaved(LoyaltyProgram program, OrderCommand command, OrderPricing priced, DateTimeOffset now) =>
        LoyaltyAccounts.InGrowthWindow(program, command.PaidAt, now) ? priced.Growth : 0;

    /// <summary>The account after the order (growth over the window, this order's included, and the tier it leads to) and the order's result.</summary>
    internal static OrderResult Settle(LoyaltyProgram program, MemberRecord member, LoyaltyAccountRecord account, OrderPricing priced, long growth,
        DateTimeOffset now)
    {
        account.Growth = growth;
        var (state, upgraded) = TierEvaluator.AfterGrowthChange(program, LoyaltyAccounts.State(account), account.Growth, now);
        LoyaltyAccounts.Apply(account, state);
        LoyaltyAccounts.Touch(account, now);
        return new OrderResult(member.Id, priced.Points, priced.Growth, priced.Multiplier, account.PointsBalance, TierEvaluator.EffectiveTier(program, state, now),
            upgraded, priced.ExpiresAt);
    }

    /// <summary>
    /// A partner's co-branded order: points at the program's partner rate, no tier multiplier, no growth. Partner orders
    /// are stored under the partner's own key space (<c>partner id:order id</c>), which no other client can reach.
    /// </summary>
    public async Task<OrderResult> RecordPartnerAsync(IdentityDbContext db, CacheChange change, string partnerId, string memberId, string orderId,
        long amountFen, DateTimeOffset paidAt, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var program = await catalog.ForWriteAsync(db, ct);
        var (member, _) = await MemberQueries.LoadActiveAsync(db, memberId, ct);
        var account = await LoyaltyAccounts.EnsureAsync(db, program, member, now, ct);
        await PointsLedger.ExpireDueAsync(db, account, now, ct);
        var points = PointsMath.OrderPoints(amountFen, program.Points.PartnerPerYuanMilli, 1000);
        var key = $"{partnerId}:{orderId}";
        var expiresAt = PointsMath.ExpiresAt(program, paidAt);
        PointsLedger.Earn(db, account, V1.PointsEntryKind.Earn, points, expiresAt, $"partner-order:{key}", "partner order", now);
        db.Orders.Add(new OrderRecord
        {
            Channel = (int)V1.Channel.Partner, OrderId = key, MemberId = member.Id, AmountFen = amountFen, PaidAt = paidAt, PointsEarned = points, Partner = true,
        });
        LoyaltyAccounts.Touch(account, now);
        return new OrderResult(member.Id, points, 0, 1000, account.PointsBalance, null, false, expiresAt);
    }
}
