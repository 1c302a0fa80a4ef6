using Grpc.Core;
using Identity.Service.Errors;
using Identity.Service.Security;
using Identity.Service.Storage;
using Identity.V1;

namespace Identity.Service.Loyalty;

/// <summary>
/// What RecordOrder and each order of RecordOrders check before anything is written: the request's fields, the channel
/// the caller may record, the store a store-bound POS may record at, and the member scope. One place, so a batch item
/// is refused exactly as the same order alone would be.
/// </summary>
public static class OrderAdmission
{
    public static (OrderCommand Command, IdempotencyKey Key) Admit(Caller caller, RecordOrderRequest request, DateTimeOffset now, TimeSpan lateOrderWindow)
    {
        var command = LoyaltyRequests.Read(request, now, lateOrderWindow);
        if (command.Channel == Channel.Partner)
            throw IdentityException.Invalid("channel", "must not be CHANNEL_PARTNER: partner orders are recorded through PartnerService");
        if (caller.Role == ClientRole.Pos && command.Channel != Channel.Pos)
            throw GrpcStatusReply.Exception(StatusCode.PermissionDenied, "PERMISSION_DENIED", "A POS client records CHANNEL_POS orders only.");
        caller.RequireStore(command.StoreId, "store_id");
        command = command with { Member = caller.Scoped(command.Member) };
        return (command, IdempotencyKey.Business("order", $"{command.Channel}:{command.OrderId}", request));
    }
}
