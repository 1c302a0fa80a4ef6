using Identity.V1;

namespace Identity.Service.Members;

public sealed record EraseResult(string MemberId, DateTimeOffset ErasedAt, bool AlreadyErased, ErasureReason Reason, string? TicketRef);
