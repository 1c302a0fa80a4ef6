using System.Diagnostics.Metrics;
using Identity.V1;

namespace Identity.Service.Telemetry;

/// <summary>
/// The <c>identity.loyalty</c> meter: ledger entries saved, by entry kind, and idempotent writes answered from
/// the reply kept for their key, by RPC.
/// </summary>
public sealed class LoyaltyMetrics
{
    public const string MeterName = "identity.loyalty";
    public const string LedgerEntries = "identity.ledger.entries";
    public const string Replays = "identity.idempotent.replays";

    static readonly Dictionary<int, KeyValuePair<string, object?>[]> KindTags = Enum.GetValues<PointsEntryKind>()
        .Where(k => k != PointsEntryKind.Unspecified)
        .ToDictionary(k => (int)k, k => new KeyValuePair<string, object?>[] { new("kind", k.ToString().ToLowerInvariant()) });

    static readonly KeyValuePair<string, object?>[] OtherKind = [new("kind", "other")];

    readonly Counter<long> entries;
    readonly Counter<long> replays;

    public LoyaltyMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        entries = meter.CreateCounter<long>(LedgerEntries, "{entry}",
            "Points ledger entries saved, by kind (earn, redeem, expire, reverse, adjust, migrate, import).");
        replays = meter.CreateCounter<long>(Replays, "{call}", "Idempotent writes answered with the reply kept for their key, by rpc.");
    }

    public void EntriesSaved(int kind, int count)
    {
        if (count > 0)
            entries.Add(count, KindTags.TryGetValue(kind, out var tags) ? tags : OtherKind);
    }

    /// <summary>A repeat of an idempotent write got the kept reply; <paramref name="rpc"/> is the contract's method name.</summary>
    public void Replayed(string rpc) => replays.Add(1, new KeyValuePair<string, object?>("rpc", rpc.Length > 0 ? rpc : "other"));
}
