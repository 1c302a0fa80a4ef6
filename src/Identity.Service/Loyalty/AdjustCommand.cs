using Identity.Service.Members;

namespace Identity.Service.Loyalty;

public sealed record AdjustCommand(MemberLookup Member, string RequestId, long Points, string Reason, string Operator);
