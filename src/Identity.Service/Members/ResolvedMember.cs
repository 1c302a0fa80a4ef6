namespace Identity.Service.Members;

/// <summary>
/// The member a lookup named in the cache, before the write queued: its id only. A write re-reads the row by id and
/// checks that the lookup still names it (MemberQueries.LoadIfStillNamedAsync); balances and tiers always come from
/// the store.
/// </summary>
public sealed record ResolvedMember(string Id);
