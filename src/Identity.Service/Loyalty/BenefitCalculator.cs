using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Identity.V1;

namespace Identity.Service.Loyalty;

/// <summary>
/// What a member gets here and now: a pure function of (program, member snapshot, context), on the POS hot path.
/// The per-program work (lookups, masks, reason lines) is done once in <see cref="ProgramIndex"/>.
/// </summary>
public static class BenefitCalculator
{
    public static BenefitQuote Quote(LoyaltyProgram program, MemberSnapshot member, QuoteContext context)
    {
        ArgumentNullException.ThrowIfNull(program);
        ArgumentNullException.ThrowIfNull(member);

        var index = ProgramIndex.For(program);
        var at = context.At;
        var growthTier = index.GrowthTier(member.GrowthTierCode) ?? index.GrowthTierFor(member.Growth);
        var paidTier = member.PaidTierExpiresAt is { } expires && index.PaidTier(member.PaidTierCode) is { } held
            && expires.ToDateTimeOffset() > at ? held : null;
        var tier = paidTier ?? growthTier;

        var local = BrandTime.LocalDateTime(program.TimeZone, at);
        var localDate = DateOnly.FromDateTime(local);

        var quote = new BenefitQuote
        {
            ProgramVersion = program.Version,
            Tier = ToTierInfo(tier),
            GrowthTier = ToTierInfo(growthTier),
            Growth = member.Growth,
            QuotedAt = Timestamp.FromDateTimeOffset(at),
            LocalDate = localDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            EffectiveDiscountBp = 0,
            EffectivePointsMultiplierMilli = 1000,
        };

        if (paidTier is not null)
        {
            quote.PaidTierExpiresAt = member.PaidTierExpiresAt.Clone();
        }

        if (index.NextGrowthTier(growthTier) is { } next)
        {
            quote.NextTier = ToTierInfo(next);
            quote.GrowthToNextTier = Math.Max(0, next.GrowthThreshold - member.Growth);
        }

        var tierPosition = index.PositionOf(tier);
        var stacking = program.Stacking;
        var discountWinner = -1;
        var multiplierWinner = -1;
        long discount = 0;
        long multiplier = 1000;
        var rules = index.Benefits;
        for (var i = 0; i < rules.Length; i++)
        {
            var rule = rules[i];
            if (!rule.Applies(tierPosition, context.Channel, context.StoreId, localDate, local.DayOfWeek, member.BirthdayMonth, paidTier is not null))
            {
                continue;
            }

            var b = rule.Definition;
            quote.Benefits.Add(new AppliedBenefit
            {
                Code = b.Code,
                Kind = b.Kind,
                Name = b.Name,
                DiscountBp = b.DiscountBp,
                PointsMultiplierMilli = b.MultiplierMilli,
                Value = b.Value ?? "",
                Reason = rule.Reason(tierPosition, local.Month, local.DayOfWeek, context.Channel),
                Effective = true,
            });

            var applied = quote.Benefits.Count - 1;
            if (b.Kind == BenefitKind.Discount)
            {
                if (stacking.Discount == DiscountStacking.Sum)
                {
                    discount += b.DiscountBp;
                }
                else if (discountWinner < 0 || b.DiscountBp > quote.Benefits[discountWinner].DiscountBp)
                {
                    discountWinner = applied;
                    discount = b.DiscountBp;
                }
            }
            else if (b.Kind == BenefitKind.PointsMultiplier)
            {
                switch (stacking.Multiplier)
                {
                    case MultiplierStacking.SumBonus:
                        multiplier += b.MultiplierMilli - 1000;
                        break;
                    case MultiplierStacking.Product:
                        // Capped at every step, so the running product stays small whatever the number of benefits.
                        multiplier = Math.Min(multiplier * b.MultiplierMilli / 1000, stacking.MaxMultiplierMilli);
                        break;
                    default:
                        if (multiplierWinner < 0 || b.MultiplierMilli > quote.Benefits[multiplierWinner].PointsMultiplierMilli)
                        {
                            multiplierWinner = applied;
                            multiplier = b.MultiplierMilli;
                        }

                        break;
                }
            }
        }

        // Under "best", the benefits that lost still show (the member sees them) but are not counted.
        if (stacking.Discount == DiscountStacking.Best || stacking.Multiplier == MultiplierStacking.Best)
        {
            for (var i = 0; i < quote.Benefits.Count; i++)
            {
                var applied = quote.Benefits[i];
                if ((applied.Kind == BenefitKind.Discount && stacking.Discount == DiscountStacking.Best && i != discountWinner)
                    || (applied.Kind == BenefitKind.PointsMultiplier && stacking.Multiplier == MultiplierStacking.Best && i != multiplierWinner))
                {
                    applied.Effective = false;
                }
            }
        }

        quote.EffectiveDiscountBp = (int)Math.Min(discount, stacking.MaxDiscountBp);
        quote.EffectivePointsMultiplierMilli = (int)Math.Clamp(multiplier, 1000, Math.Max(1000, stacking.MaxMultiplierMilli));
        return quote;
    }

    internal static TierInfo ToTierInfo(TierDefinition tier) =>
        new() { Code = tier.Code, Name = tier.Name, Paid = tier.Paid is not null, Rank = tier.Rank };
}
