using Identity.Service.Members;
using Identity.V1;

namespace Identity.Service.Loyalty;

public sealed record PurchaseCommand(MemberLookup Member, string RequestId, string TierCode, long PaidFen, Channel Channel, DateTimeOffset PaidAt);
