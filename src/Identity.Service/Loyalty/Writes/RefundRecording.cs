using Identity.Service.Caching;
using Identity.Service.Errors;
using Identity.Service.Storage;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Loyalty.Writes;

/// <summary>Records a refund: points and growth taken back in proportion, cumulatively over the order's refunds.</summary>
public sealed class RefundRecording(ProgramCatalog catalog, TimeProvider clock)
{
    /// <summary>The stored order the refund is for, if the caller may refund it; NOT_FOUND otherwise, as for an unknown order.</summary>
    public static async Task<OrderRecord> FindOrderAsync(IdentityDbContext db, RefundCommand command, OrderScope scope, CancellationToken ct)
    {
        var order = await db.Orders.FirstOrDefaultAsync(o => o.Channel == (int)command.Channel && o.OrderId == command.OrderId, ct);
        if (order is null || !scope.Admits(order))
            IdentityException.ThrowNotFound(ErrorReasons.OrderNotFound, $"Order {command.Channel}:{command.OrderId} was never recorded.");
        return order;
    }

    public async Task<RefundResult> RecordAsync(IdentityDbContext db, CacheChange change, RefundCommand command, OrderScope scope, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var program = await catalog.ForWriteAsync(db, ct);
        var order = await FindOrderAsync(db, command, scope, ct);
        if (command.AmountFen > order.AmountFen - order.RefundedFen)
            IdentityException.ThrowFailedPrecondition(ErrorReasons.RefundExceedsOrder,
                $"Only {order.AmountFen - order.RefundedFen} fen of the order are left to refund.");

        var member = await db.Members.FirstAsync(m => m.Id == order.MemberId, ct);
        var account = await LoyaltyAccounts.EnsureAsync(db, program, member, now, ct);
        await PointsLedger.ExpireDueAsync(db, account, now, ct);
        await db.SaveChangesAsync(ct);

        // Targets are cumulative, so the sum over all refunds of an order never exceeds what the order gave.
        var refunded = order.RefundedFen + command.AmountFen;
        var pointsTarget = PointsMath.Proportion(order.PointsEarned, refunded, order.AmountFen) - order.PointsReversed;
        var growthTarget = PointsMath.Proportion(order.GrowthEarned, refunded, order.AmountFen) - order.GrowthReversed;
        var reference = $"refund:{command.Channel}:{command.RefundId}";
        var pointsTaken = await PointsLedger.ReverseAsync(db, account, pointsTarget, reference, now, ct);
        order.RefundedFen = refunded;
        order.PointsReversed += pointsTaken;
        order.GrowthReversed += growthTarget;
        if (growthTarget > 0)
            db.GrowthEvents.Add(new GrowthEventRecord { MemberId = member.Id, Amount = -growthTarget, OccurredAt = order.PaidAt, Reference = reference });
        await db.SaveChangesAsync(ct);

        account.Growth = await LoyaltyAccounts.GrowthAsync(db, program, member.Id, now, ct);
        LoyaltyAccounts.Touch(account, now);
        return new RefundResult(member.Id, pointsTaken, growthTarget, account.PointsBalance,
            TierEvaluator.EffectiveTier(program, LoyaltyAccounts.State(account), now));
    }
}
