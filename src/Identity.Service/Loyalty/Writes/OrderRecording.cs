using Identity.Service.Caching;
using Identity.Service.Members;
using Identity.Service.Storage;

namespace Identity.Service.Loyalty.Writes;

/// <summary>Records a purchase: points at the quoted multiplier, growth, and the tier it leads to.</summary>
public sealed class OrderRecording(AccountOpening accounts, ProgramCatalog catalog, TimeProvider clock)
{
    public async Task<OrderResult> RecordAsync(IdentityDbContext db, CacheChange change, OrderCommand command, CancellationToken ct)
    {
        var (program, member, account, now) = await accounts.OpenAsync(db, command.Member, ct, command.Resolved);

        // The quote needs the loyalty state and birthday only: no reply form of the member, no phone decryption.
        var snapshot = LoyaltyAccounts.Snapshot(null, member, account, program);
        var quote = BenefitCalculator.Quote(program, snapshot, new QuoteContext(command.Channel, command.StoreId, command.PaidAt));
        var multiplier = quote.EffectivePointsMultiplierMilli;
        var points = PointsMath.OrderPoints(command.AmountFen, program.Points.PerYuanMilli, multiplier);
        var growth = PointsMath.Growth(command.AmountFen, program.Growth.PerYuanMilli);
        var reference = $"order:{command.Channel}:{command.OrderId}";
        var expiresAt = PointsMath.ExpiresAt(program, command.PaidAt);
        PointsLedger.Earn(db, account, V1.PointsEntryKind.Earn, points, expiresAt, reference, null, now);

        db.Orders.Add(new OrderRecord
        {
            Channel = (int)command.Channel, OrderId = command.OrderId, MemberId = member.Id, StoreId = command.StoreId,
            GuideId = command.GuideId, AmountFen = command.AmountFen, PaidAt = command.PaidAt, PointsEarned = points, GrowthEarned = growth,
        });
        if (growth > 0)
            db.GrowthEvents.Add(new GrowthEventRecord { MemberId = member.Id, Amount = growth, OccurredAt = command.PaidAt, Reference = reference });

        // Everything is saved once, with the idempotency key: the window's sum is read from the saved events plus this one.
        var unsaved = LoyaltyAccounts.InGrowthWindow(program, command.PaidAt, now) ? growth : 0;
        account.Growth = await LoyaltyAccounts.GrowthAsync(db, program, member.Id, now, ct, unsaved);
        var (state, upgraded) = TierEvaluator.AfterGrowthChange(program, LoyaltyAccounts.State(account), account.Growth, now);
        LoyaltyAccounts.Apply(account, state);
        LoyaltyAccounts.Touch(account, now);
        return new OrderResult(member.Id, points, growth, multiplier, account.PointsBalance, TierEvaluator.EffectiveTier(program, state, now), upgraded,
            expiresAt);
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
