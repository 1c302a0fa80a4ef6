using Identity.Service.Storage;

namespace Identity.Service.Loyalty.Writes;

/// <summary>
/// The stored orders a caller may refund: a POS client only its channel's orders, and a store-bound one only those of
/// its stores. Partner orders live in their own key space and are never reachable here. An order outside the scope is
/// answered exactly like one that was never recorded.
/// </summary>
public sealed record OrderScope(int? Channel, IReadOnlySet<string>? Stores)
{
    public static readonly OrderScope Any = new(null, null);

    public bool Admits(OrderRecord order) =>
        !order.Partner
        && (Channel is not { } channel || order.Channel == channel)
        && (Stores is not { } stores || (order.StoreId is { } store && stores.Contains(store)));
}
