using Identity.Service.Members;
using Identity.V1;

namespace Identity.Service.Loyalty;

public sealed record RedeemCommand(MemberLookup Member, string RequestId, long Points, string? Reason, Channel Channel, string? StoreId);
