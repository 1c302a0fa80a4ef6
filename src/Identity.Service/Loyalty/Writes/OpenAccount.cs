using Identity.Service.Storage;

namespace Identity.Service.Loyalty.Writes;

/// <summary>A loyalty write's starting point: the program in force, the member, its account (due points already expired) and the instant.</summary>
public sealed record OpenAccount(LoyaltyProgram Program, MemberRecord Member, LoyaltyAccountRecord Account, DateTimeOffset Now);
