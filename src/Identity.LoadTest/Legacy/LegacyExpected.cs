using System.Text.Json.Serialization;

namespace Identity.LoadTest.Legacy;

/// <summary>What importing a generated export must give, written beside it as <c>FILE.expected.json</c>.</summary>
public sealed record LegacyExpected
{
    public long Rows { get; init; }

    /// <summary>Members the import ends with: one per person with a phone, one per fan.</summary>
    public long Members { get; init; }

    public long Accepted { get; init; }
    public long Created { get; init; }
    public long Merged { get; init; }
    public long Rejected { get; init; }
    public required SortedDictionary<string, long> RejectedByReason { get; init; }
    public long PointsMigrated { get; init; }

    /// <summary>Channel identities bound (external ids and union ids).</summary>
    public long Bindings { get; init; }

    /// <summary>Lines with a CN landline, and mobiles written with a trunk 0 (both accepted).</summary>
    public long LandlineLines { get; init; }
    public long TrunkMobileLines { get; init; }
}

[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(LegacyExpected))]
public sealed partial class LegacyJsonContext : JsonSerializerContext;
