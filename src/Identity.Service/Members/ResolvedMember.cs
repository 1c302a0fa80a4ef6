namespace Identity.Service.Members;

/// <summary>
/// The member a lookup named when it was resolved through the cache, before the write queued: its id and the version
/// of its row then. A write re-reads the row by id and trusts the earlier resolution (identities, scope, state) only
/// when the version is unchanged; balances and tiers always come from the store.
/// </summary>
public sealed record ResolvedMember(string Id, long Version);
