using Identity.V1;

namespace Identity.Service.Loyalty;

public sealed record RefundCommand(Channel Channel, string OrderId, string RefundId, long AmountFen, DateTimeOffset RefundedAt);
