// TEMPORARY: signatures of the pure loyalty domain being written on another branch; deleted when it lands.
using Identity.V1;

namespace Identity.Service.Loyalty;

public static class ProgramParser
{
    public static ProgramParseResult Parse(string json) => throw new NotImplementedException(json);
}

public static class DefaultProgram
{
    public static string Json => throw new NotImplementedException();
    public static LoyaltyProgram Load() => throw new NotImplementedException();
}

public static class BenefitCalculator
{
    public static BenefitQuote Quote(LoyaltyProgram program, MemberSnapshot member, QuoteContext context) => throw new NotImplementedException();
}

public static class TierEvaluator
{
    public static TierState NewMember(LoyaltyProgram p, DateTimeOffset enrolledAt) => throw new NotImplementedException();
    public static (TierState State, bool Upgraded) AfterGrowthChange(LoyaltyProgram p, TierState s, long growth, DateTimeOffset now) => throw new NotImplementedException();
    public static (TierState State, bool Downgraded, bool PaidEnded) Assess(LoyaltyProgram p, TierState s, long growth, DateTimeOffset now) => throw new NotImplementedException();
    public static TierDefinition EffectiveTier(LoyaltyProgram p, TierState s, DateTimeOffset at) => throw new NotImplementedException();
    public static (DateTimeOffset ExpiresAt, bool Renewed) PaidExpiry(LoyaltyProgram p, TierDefinition paidTier, DateTimeOffset? currentExpiry, DateTimeOffset paidAt) => throw new NotImplementedException();
}

public static class PointsMath
{
    public static long OrderPoints(long amountFen, int perYuanMilli, int multiplierMilli) => throw new NotImplementedException();
    public static long Growth(long amountFen, int perYuanMilli) => throw new NotImplementedException();
    public static long Proportion(long given, long refundedFen, long orderFen) => throw new NotImplementedException();
    public static DateTimeOffset ExpiresAt(LoyaltyProgram p, DateTimeOffset earnedAt) => throw new NotImplementedException();
    public static DateOnly LocalDate(LoyaltyProgram p, DateTimeOffset at) => throw new NotImplementedException();
}
