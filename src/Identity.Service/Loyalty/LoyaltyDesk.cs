using Google.Protobuf.WellKnownTypes;
using Identity.Service.Caching;
using Identity.Service.Errors;
using Identity.Service.Members;
using Identity.Service.Phones;
using Identity.Service.Storage;
using Identity.V1;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Loyalty;

/// <summary>
/// Where loyalty writes are recorded: orders, refunds, redemptions, adjustments, check-ins and paid memberships. Each is
/// one store transaction, idempotent by its key, and first expires the member's due points so the balance is exact.
/// </summary>
public sealed class LoyaltyDesk(
    IdentityStore store, CachedWrites writes, ProgramCatalog catalog, PhoneProtector protector, TimeProvider clock)
{

    public Task<RecordOrderResponse> RecordOrderAsync(OrderCommand command, CancellationToken cancellationToken) =>
        writes.WriteAsync(async (db, change, ct) =>
        {
            var now = clock.GetUtcNow();
            var program = await catalog.ForWriteAsync(db, ct);
            var (member, _) = await MemberQueries.ResolveAsync(db, protector, command.Member, ct);
            var key = $"{command.Channel}:{command.OrderId}";
            var hash = Idempotency.Hash(member.Id, command.AmountFen, command.PaidAt.UtcTicks, command.StoreId, command.GuideId);
            if (await Idempotency.FindAsync(db, "order", key, hash, RecordOrderResponse.Parser, ct) is { } original)
                return original.Clone().Also(r => r.Replayed = true);

            var account = await LoyaltyAccounts.EnsureAsync(db, program, member, now, ct);
            await PointsLedger.ExpireDueAsync(db, account, now, ct);

            // The quote needs the loyalty state and birthday only: no reply form of the member, no phone decryption.
            var snapshot = LoyaltyAccounts.Snapshot(null, member, account, program);
            var quote = BenefitCalculator.Quote(program, snapshot, new QuoteContext(command.Channel, command.StoreId, command.PaidAt));
            var multiplier = quote.EffectivePointsMultiplierMilli;
            var points = PointsMath.OrderPoints(command.AmountFen, program.Points.PerYuanMilli, multiplier);
            var growth = PointsMath.Growth(command.AmountFen, program.Growth.PerYuanMilli);
            var reference = $"order:{key}";
            var expiresAt = PointsMath.ExpiresAt(program, command.PaidAt);
            PointsLedger.Earn(db, account, PointsEntryKind.Earn, points, expiresAt, reference, null, now);

            db.Orders.Add(new OrderRecord
            {
                Channel = (int)command.Channel, OrderId = command.OrderId, MemberId = member.Id, StoreId = command.StoreId,
                GuideId = command.GuideId, AmountFen = command.AmountFen, PaidAt = command.PaidAt, PointsEarned = points, GrowthEarned = growth,
            });
            if (growth > 0)
                db.GrowthEvents.Add(new GrowthEventRecord { MemberId = member.Id, Amount = growth, OccurredAt = command.PaidAt, Reference = reference });
            await db.SaveChangesAsync(ct);

            account.Growth = await LoyaltyAccounts.GrowthAsync(db, program, member.Id, now, ct);
            var (state, upgraded) = TierEvaluator.AfterGrowthChange(program, LoyaltyAccounts.State(account), account.Growth, now);
            LoyaltyAccounts.Apply(account, state);
            LoyaltyAccounts.Touch(account, now);

            var response = new RecordOrderResponse
            {
                MemberId = member.Id, PointsEarned = points, GrowthEarned = growth, PointsMultiplierMilli = multiplier,
                PointsBalance = account.PointsBalance, Tier = LoyaltyAccounts.Info(TierEvaluator.EffectiveTier(program, state, now)),
                Upgraded = upgraded, PointsExpireAt = Timestamp.FromDateTimeOffset(expiresAt),
            };
            Idempotency.Remember(db, "order", key, hash, response, now);
            return response;
        }, cancellationToken);

    /// <summary>A partner's co-branded order: points at the program's partner rate, no tier multiplier, no growth.</summary>
    public async Task<(long Points, bool Replayed)> RecordPartnerOrderAsync(string partnerId, string memberId, string orderId, long amountFen,
        DateTimeOffset paidAt, CancellationToken cancellationToken)
    {
        var response = await writes.WriteAsync(async (db, change, ct) =>
        {
            var now = clock.GetUtcNow();
            var program = await catalog.ForWriteAsync(db, ct);
            var (member, _) = await MemberQueries.LoadActiveAsync(db, memberId, ct);
            var key = $"{partnerId}:{orderId}";
            var hash = Idempotency.Hash(member.Id, amountFen, paidAt.UtcTicks);
            if (await Idempotency.FindAsync(db, "partner-order", key, hash, RecordOrderResponse.Parser, ct) is { } original)
                return original.Clone().Also(r => r.Replayed = true);

            var account = await LoyaltyAccounts.EnsureAsync(db, program, member, now, ct);
            await PointsLedger.ExpireDueAsync(db, account, now, ct);
            var points = PointsMath.OrderPoints(amountFen, program.Points.PartnerPerYuanMilli, 1000);
            var reference = $"partner-order:{key}";
            var expiresAt = PointsMath.ExpiresAt(program, paidAt);
            PointsLedger.Earn(db, account, PointsEntryKind.Earn, points, expiresAt, reference, "partner order", now);
            db.Orders.Add(new OrderRecord
            {
                Channel = (int)Channel.Partner, OrderId = key, MemberId = member.Id, AmountFen = amountFen, PaidAt = paidAt, PointsEarned = points, Partner = true,
            });
            LoyaltyAccounts.Touch(account, now);
            var result = new RecordOrderResponse { MemberId = member.Id, PointsEarned = points, PointsBalance = account.PointsBalance, PointsMultiplierMilli = 1000 };
            Idempotency.Remember(db, "partner-order", key, hash, result, now);
            return result;
        }, cancellationToken);
        return (response.PointsEarned, response.Replayed);
    }

    public Task<RecordRefundResponse> RecordRefundAsync(RefundCommand command, CancellationToken cancellationToken) =>
        writes.WriteAsync(async (db, change, ct) =>
        {
            var now = clock.GetUtcNow();
            var program = await catalog.ForWriteAsync(db, ct);
            var key = $"{command.Channel}:{command.RefundId}";
            var hash = Idempotency.Hash(command.OrderId, command.AmountFen);
            if (await Idempotency.FindAsync(db, "refund", key, hash, RecordRefundResponse.Parser, ct) is { } original)
                return original.Clone().Also(r => r.Replayed = true);

            var order = await db.Orders.FirstOrDefaultAsync(o => o.Channel == (int)command.Channel && o.OrderId == command.OrderId, ct);
            if (order is null)
                IdentityException.ThrowNotFound(ErrorReasons.OrderNotFound, $"Order {command.Channel}:{command.OrderId} was never recorded.");
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
            var reference = $"refund:{key}";
            var pointsTaken = await PointsLedger.ReverseAsync(db, account, pointsTarget, reference, now, ct);
            order.RefundedFen = refunded;
            order.PointsReversed += pointsTaken;
            order.GrowthReversed += growthTarget;
            if (growthTarget > 0)
                db.GrowthEvents.Add(new GrowthEventRecord { MemberId = member.Id, Amount = -growthTarget, OccurredAt = order.PaidAt, Reference = reference });
            await db.SaveChangesAsync(ct);

            account.Growth = await LoyaltyAccounts.GrowthAsync(db, program, member.Id, now, ct);
            LoyaltyAccounts.Touch(account, now);
            var response = new RecordRefundResponse
            {
                MemberId = member.Id, PointsReversed = pointsTaken, GrowthReversed = growthTarget, PointsBalance = account.PointsBalance,
                Tier = LoyaltyAccounts.Info(TierEvaluator.EffectiveTier(program, LoyaltyAccounts.State(account), now)),
            };
            Idempotency.Remember(db, "refund", key, hash, response, now);
            return response;
        }, cancellationToken);

    public async Task<RedeemPointsResponse> RedeemAsync(RedeemCommand command, CancellationToken cancellationToken)
    {
        var (response, refusal) = await writes.WriteAsync<(RedeemPointsResponse?, IdentityException?)>(async (db, change, ct) =>
        {
            var now = clock.GetUtcNow();
            var program = await catalog.ForWriteAsync(db, ct);
            var (member, _) = await MemberQueries.ResolveAsync(db, protector, command.Member, ct);
            var hash = Idempotency.Hash(member.Id, command.Points);
            if (await Idempotency.FindAsync(db, "redeem", command.RequestId, hash, RedeemPointsResponse.Parser, ct) is { } original)
                return (original.Clone().Also(r => r.Replayed = true), null);

            var account = await LoyaltyAccounts.EnsureAsync(db, program, member, now, ct);
            await PointsLedger.ExpireDueAsync(db, account, now, ct);
            if (Short(db, account, command.Points, "redeem", command.RequestId, hash, now) is { } refused)
                return (null, refused);
            await PointsLedger.SpendAsync(db, account, PointsEntryKind.Redeem, command.Points, $"redeem:{command.RequestId}", command.Reason, now, ct);
            LoyaltyAccounts.Touch(account, now);
            var result = new RedeemPointsResponse { MemberId = member.Id, PointsRedeemed = command.Points, PointsBalance = account.PointsBalance };
            Idempotency.Remember(db, "redeem", command.RequestId, hash, result, now);
            return (result, null);
        }, cancellationToken);
        return refusal is null ? response! : throw refusal;
    }

    public async Task<AdjustPointsResponse> AdjustAsync(AdjustCommand command, CancellationToken cancellationToken)
    {
        var (response, refusal) = await writes.WriteAsync<(AdjustPointsResponse?, IdentityException?)>(async (db, change, ct) =>
        {
            var now = clock.GetUtcNow();
            var program = await catalog.ForWriteAsync(db, ct);
            var (member, _) = await MemberQueries.ResolveAsync(db, protector, command.Member, ct);
            var hash = Idempotency.Hash(member.Id, command.Points, command.Reason, command.Operator);
            if (await Idempotency.FindAsync(db, "adjust", command.RequestId, hash, AdjustPointsResponse.Parser, ct) is { } original)
                return (original.Clone().Also(r => r.Replayed = true), null);

            var account = await LoyaltyAccounts.EnsureAsync(db, program, member, now, ct);
            await PointsLedger.ExpireDueAsync(db, account, now, ct);
            var reference = $"adjust:{command.RequestId}";
            var reason = $"{command.Reason} (by {command.Operator})";
            if (command.Points > 0)
                PointsLedger.Earn(db, account, PointsEntryKind.Adjust, command.Points, PointsMath.ExpiresAt(program, now), reference, reason, now);
            else if (Short(db, account, -command.Points, "adjust", command.RequestId, hash, now) is { } refused)
                return (null, refused);
            else
                await PointsLedger.SpendAsync(db, account, PointsEntryKind.Adjust, -command.Points, reference, reason, now, ct);
            LoyaltyAccounts.Touch(account, now);
            var result = new AdjustPointsResponse { MemberId = member.Id, Points = command.Points, PointsBalance = account.PointsBalance };
            Idempotency.Remember(db, "adjust", command.RequestId, hash, result, now);
            return (result, null);
        }, cancellationToken);
        return refusal is null ? response! : throw refusal;
    }

    /// <summary>When the balance cannot cover a debit: the refusal, remembered under the request's key.</summary>
    static IdentityException? Short(IdentityDbContext db, LoyaltyAccountRecord account, long points, string scope, string key, byte[] hash, DateTimeOffset now) =>
        points <= account.PointsBalance
            ? null
            : Idempotency.RememberFailure(db, scope, key, hash, ErrorReasons.InsufficientPoints,
                $"The member had {account.PointsBalance} points; {points} were asked for.", now);

    public Task<CheckInResponse> CheckInAsync(CheckInCommand command, CancellationToken cancellationToken) =>
        writes.WriteAsync(async (db, change, ct) =>
        {
            var now = clock.GetUtcNow();
            var program = await catalog.ForWriteAsync(db, ct);
            var (member, _) = await MemberQueries.ResolveAsync(db, protector, command.Member, ct);
            var localDate = PointsMath.LocalDate(program, command.At).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
            var account = await LoyaltyAccounts.EnsureAsync(db, program, member, now, ct);
            await PointsLedger.ExpireDueAsync(db, account, now, ct);

            // The brand-local day is the key: the second check-in that day grants nothing.
            if (await db.CheckIns.AnyAsync(c => c.MemberId == member.Id && c.LocalDate == localDate, ct))
                return new CheckInResponse { MemberId = member.Id, AlreadyCheckedIn = true, LocalDate = localDate, PointsBalance = account.PointsBalance };

            var points = program.Points.CheckInPoints;
            PointsLedger.Earn(db, account, PointsEntryKind.Earn, points, PointsMath.ExpiresAt(program, command.At), $"checkin:{localDate}", "daily check-in", now);
            db.CheckIns.Add(new CheckInRecord { MemberId = member.Id, LocalDate = localDate, Points = points, At = command.At });
            LoyaltyAccounts.Touch(account, now);
            return new CheckInResponse { MemberId = member.Id, PointsGranted = points, LocalDate = localDate, PointsBalance = account.PointsBalance };
        }, cancellationToken);

    public Task<PurchaseMembershipResponse> PurchaseAsync(PurchaseCommand command, CancellationToken cancellationToken) =>
        writes.WriteAsync(async (db, change, ct) =>
        {
            var now = clock.GetUtcNow();
            var program = await catalog.ForWriteAsync(db, ct);
            var (member, _) = await MemberQueries.ResolveAsync(db, protector, command.Member, ct);
            var hash = Idempotency.Hash(member.Id, command.TierCode, command.PaidFen, command.PaidAt.UtcTicks);
            if (await Idempotency.FindAsync(db, "membership", command.RequestId, hash, PurchaseMembershipResponse.Parser, ct) is { } original)
                return original.Clone().Also(r => r.Replayed = true);

            var tier = program.FindTier(command.TierCode);
            if (tier?.Paid is not { } terms)
                throw IdentityException.Invalid("tier_code", $"is not a paid tier of program version {program.Version}");
            if (command.PaidFen != terms.PriceFen)
                throw IdentityException.Invalid("paid_fen", $"must be the tier's price, {terms.PriceFen} fen");

            var account = await LoyaltyAccounts.EnsureAsync(db, program, member, now, ct);
            var current = account.PaidTierCode == tier.Code ? account.PaidExpiresAt : null;
            var (expiresAt, renewed) = TierEvaluator.PaidExpiry(program, tier, current, command.PaidAt);
            account.PaidTierCode = tier.Code;
            account.PaidExpiresAt = expiresAt;
            LoyaltyAccounts.Touch(account, now);
            var response = new PurchaseMembershipResponse
            {
                MemberId = member.Id, Tier = LoyaltyAccounts.Info(tier), ExpiresAt = Timestamp.FromDateTimeOffset(expiresAt), Renewed = renewed,
            };
            Idempotency.Remember(db, "membership", command.RequestId, hash, response, now);
            return response;
        }, cancellationToken);

    public async Task<GetPointsAccountResponse> GetPointsAccountAsync(MemberLookup lookup, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var (memberId, due) = await store.ReadAsync(async (db, ct) =>
        {
            var (member, _) = await MemberQueries.ResolveAsync(db, protector, lookup, ct);
            return (member.Id, await db.PointsLots.AnyAsync(l => l.MemberId == member.Id && l.Remaining > 0 && l.ExpiresAt <= now, ct));
        }, cancellationToken);
        if (due)
        {
            // Points past their expiry are expired before they are shown, so the balance shown is spendable.
            await writes.WriteAsync(async (db, change, ct) =>
            {
                var account = await db.LoyaltyAccounts.FirstAsync(a => a.MemberId == memberId, ct);
                await PointsLedger.ExpireDueAsync(db, account, now, ct);
                LoyaltyAccounts.Touch(account, now);
                return 0;
            }, cancellationToken);
        }
        return await store.ReadAsync(async (db, ct) =>
        {
            var balance = await db.LoyaltyAccounts.Where(a => a.MemberId == memberId).Select(a => (long?)a.PointsBalance).FirstOrDefaultAsync(ct) ?? 0;
            var lots = await db.PointsLots.Where(l => l.MemberId == memberId && l.Remaining > 0)
                .OrderBy(l => l.ExpiresAt).ThenBy(l => l.Id).ToListAsync(ct);
            var response = new GetPointsAccountResponse { MemberId = memberId, Balance = balance };
            var soon = now.AddDays(30);
            foreach (var lot in lots)
            {
                response.Lots.Add(new PointsLot
                {
                    LotId = lot.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), Points = lot.Points, Remaining = lot.Remaining,
                    EarnedAt = Timestamp.FromDateTimeOffset(lot.EarnedAt), ExpiresAt = Timestamp.FromDateTimeOffset(lot.ExpiresAt), Source = lot.Source,
                });
                if (lot.ExpiresAt <= soon)
                    response.ExpiringWithin30Days += lot.Remaining;
            }
            if (lots.Count > 0)
                response.NextExpiry = Timestamp.FromDateTimeOffset(lots[0].ExpiresAt);
            return response;
        }, cancellationToken);
    }

    public Task<ListPointsEntriesResponse> ListEntriesAsync(MemberLookup lookup, int pageSize, long? before, CancellationToken cancellationToken) =>
        store.ReadAsync(async (db, ct) =>
        {
            var (member, _) = await MemberQueries.ResolveAsync(db, protector, lookup, ct);
            var query = db.PointsEntries.Where(e => e.MemberId == member.Id);
            if (before is { } id)
                query = query.Where(e => e.Id < id);
            var entries = await query.OrderByDescending(e => e.Id).Take(pageSize + 1).ToListAsync(ct);
            var response = new ListPointsEntriesResponse { MemberId = member.Id };
            foreach (var entry in entries.Take(pageSize))
            {
                response.Entries.Add(new PointsEntry
                {
                    EntryId = entry.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), Kind = (PointsEntryKind)entry.Kind,
                    Points = entry.Points, BalanceAfter = entry.BalanceAfter, Reference = entry.Reference, Reason = entry.Reason ?? "",
                    CreatedAt = Timestamp.FromDateTimeOffset(entry.CreatedAt),
                });
            }
            if (entries.Count > pageSize)
                response.NextPageToken = PageToken.Encode(entries[pageSize - 1].Id);
            return response;
        }, cancellationToken);
}

static class MessageExtensions
{
    public static T Also<T>(this T message, Action<T> change)
    {
        change(message);
        return message;
    }
}
