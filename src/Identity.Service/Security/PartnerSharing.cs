using Identity.Service.Storage;
using Identity.V1;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Security;

/// <summary>
/// Whether a member shares with partners, decided with the same work for everyone: two indexed reads from the store,
/// whatever the first finds (the consent read runs for a placeholder id when there is no member). No cache sits in
/// between, because a cache answers members and non-members at different speeds the first time; the reads are small,
/// and partner calls are rate-limited. A consent change is in force for partners at once, on every instance.
/// </summary>
public sealed class PartnerSharing(IdentityStore store)
{
    /// <summary>An id no member has (ids are 32 hex digits), so the consent read finds nothing for a non-member.</summary>
    const string NoMember = "-";

    /// <summary>The active member with this blind index (or id), and whether its newest partner-sharing decision grants it.</summary>
    public Task<(string? MemberId, bool Shares)> FindAsync(byte[]? phoneIndex, string? memberId, CancellationToken cancellationToken) =>
        store.ReadAsync(async (db, ct) =>
        {
            var found = phoneIndex is not null
                ? await db.Members.Where(m => m.PhoneIndex == phoneIndex && m.State == MemberRowState.Active).Select(m => m.Id).FirstOrDefaultAsync(ct)
                : await db.Members.Where(m => m.Id == memberId)
                    .Select(m => m.State == MemberRowState.Merged ? m.MergedIntoId : m.State == MemberRowState.Active ? m.Id : null)
                    .FirstOrDefaultAsync(ct);
            var subject = found ?? NoMember;
            var granted = await db.Consents
                .Where(c => c.MemberId == subject && c.Purpose == (int)ConsentPurpose.PartnerSharing)
                .OrderByDescending(c => c.DecidedAt).ThenByDescending(c => c.Id)
                .Select(c => (bool?)c.Granted).FirstOrDefaultAsync(ct);
            return (found, granted == true);
        }, cancellationToken);
}
