using Identity.V1;

namespace Identity.Service.Members;

/// <summary>An erasure: the member, why (a code) and the deletion request's ticket reference.</summary>
public sealed record EraseCommand(string MemberId, ErasureReason Reason, string? TicketRef);
