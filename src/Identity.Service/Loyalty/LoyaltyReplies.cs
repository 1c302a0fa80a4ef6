using Google.Protobuf.WellKnownTypes;
using Identity.Service.Loyalty.Writes;
using Identity.V1;

namespace Identity.Service.Loyalty;

/// <summary>The replies of LoyaltyService, built from the use cases' results (the only place loyalty protos are made).</summary>
public static class LoyaltyReplies
{
    public static RecordOrderResponse Order(OrderResult r) => new()
    {
        MemberId = r.MemberId, PointsEarned = r.PointsEarned, GrowthEarned = r.GrowthEarned, PointsMultiplierMilli = r.PointsMultiplierMilli,
        PointsBalance = r.PointsBalance, Tier = r.Tier is null ? null : LoyaltyAccounts.Info(r.Tier), Upgraded = r.Upgraded,
        PointsExpireAt = Timestamp.FromDateTimeOffset(r.PointsExpireAt),
    };

    /// <summary>How a partner order is kept under its key (the partner reply is built from it).</summary>
    public static RecordOrderResponse PartnerOrder(OrderResult r) => new()
    {
        MemberId = r.MemberId, PointsEarned = r.PointsEarned, PointsBalance = r.PointsBalance, PointsMultiplierMilli = r.PointsMultiplierMilli,
    };

    public static RecordRefundResponse Refund(RefundResult r) => new()
    {
        MemberId = r.MemberId, PointsReversed = r.PointsReversed, GrowthReversed = r.GrowthReversed, PointsBalance = r.PointsBalance,
        Tier = LoyaltyAccounts.Info(r.Tier),
    };

    public static RedeemPointsResponse Redeem(PointsResult r) => new() { MemberId = r.MemberId, PointsRedeemed = r.Points, PointsBalance = r.PointsBalance };

    public static AdjustPointsResponse Adjust(PointsResult r) => new() { MemberId = r.MemberId, Points = r.Points, PointsBalance = r.PointsBalance };

    public static CheckInResponse CheckIn(CheckInResult r) => new()
    {
        MemberId = r.MemberId, PointsGranted = r.PointsGranted, AlreadyCheckedIn = r.AlreadyCheckedIn, LocalDate = r.LocalDate, PointsBalance = r.PointsBalance,
    };

    public static PurchaseMembershipResponse Membership(MembershipResult r) => new()
    {
        MemberId = r.MemberId, Tier = LoyaltyAccounts.Info(r.Tier), ExpiresAt = Timestamp.FromDateTimeOffset(r.ExpiresAt), Renewed = r.Renewed,
    };
}
