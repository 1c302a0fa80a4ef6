using Identity.Service.Caching;

namespace Identity.Service.Import;

/// <summary>
/// The lookup keys (phone, channel identities) of the members a batch creates. A new member has no snapshot cached
/// anywhere, but a lookup of its phone or identity made shortly before the import may be remembered as "unknown" in
/// every instance's L1 and in Redis. The batch writes these keys to the outbox like any other write, so the caches drop
/// those entries at commit here and within the invalidation bound everywhere else.
/// </summary>
public static class NewMemberLookups
{
    public static IEnumerable<string> Keys(CacheKeys keys, IEnumerable<MemberWork> members)
    {
        foreach (var member in members)
        {
            if (!member.IsNew)
                continue;
            if (member.PhoneIndex is not null)
                yield return keys.Phone(member.PhoneIndex);
            foreach (var (identity, _, _) in member.Identities)
                yield return keys.Identity(identity);
        }
    }
}
