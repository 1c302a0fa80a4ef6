using Identity.Service.Members;

namespace Identity.Service.Import;

/// <summary>
/// Who owns what, as far as a batch knows: phone and identity owners read from the store or made by earlier rows, and
/// the row keys seen. A real run starts every batch afresh (what earlier batches made is in the store); a dry run keeps
/// one across its batches.
/// </summary>
public sealed class ImportOwners
{
    /// <summary>Blind index (hex) → member id.</summary>
    public Dictionary<string, string> PhoneOwners { get; } = new(StringComparer.Ordinal);

    public Dictionary<IdentityKey, string> IdentityOwners { get; } = [];

    /// <summary>Member id → whether it has a phone.</summary>
    public Dictionary<string, bool> HasPhone { get; } = new(StringComparer.Ordinal);

    /// <summary>Row key → the row number that first used it in this import.</summary>
    public Dictionary<string, long> KeysSeen { get; } = new(StringComparer.Ordinal);

    /// <summary>Blind indexes and identities already looked up in the store (found or not).</summary>
    public HashSet<string> PhonesLookedUp { get; } = new(StringComparer.Ordinal);

    public HashSet<IdentityKey> IdentitiesLookedUp { get; } = [];

    /// <summary>Members that existed before this batch (in the store), not made by it.</summary>
    public HashSet<string> StoredMembers { get; } = new(StringComparer.Ordinal);
}
