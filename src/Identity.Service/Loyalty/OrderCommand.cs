using Identity.Service.Members;
using Identity.V1;

namespace Identity.Service.Loyalty;

/// <summary>
/// A purchase to record. <see cref="PaidAt"/> is the server's now when the caller sent none; the idempotency
/// fingerprint is taken from the request as sent, so that default never makes a retry look different.
/// </summary>
public sealed record OrderCommand(MemberLookup Member, Channel Channel, string OrderId, string? StoreId, string? GuideId, long AmountFen, DateTimeOffset PaidAt)
{
    /// <summary>The member as resolved through the cache before the write queued, when it was; the write re-checks it.</summary>
    public ResolvedMember? Resolved { get; init; }
}
