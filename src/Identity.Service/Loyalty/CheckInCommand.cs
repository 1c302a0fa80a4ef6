using Identity.Service.Members;
using Identity.V1;

namespace Identity.Service.Loyalty;

public sealed record CheckInCommand(MemberLookup Member, Channel Channel, DateTimeOffset At);
