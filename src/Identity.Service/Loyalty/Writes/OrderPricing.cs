namespace Identity.Service.Loyalty.Writes;

/// <summary>What an order earns, before it is written: points (with their expiry), growth, the multiplier, the ledger reference.</summary>
internal readonly record struct OrderPricing(long Points, long Growth, int Multiplier, DateTimeOffset ExpiresAt, string Reference);
