using Identity.Service.Loyalty;
using Identity.Service.Members;
using Identity.Service.Storage;
using Identity.V1;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Caching;

/// <summary>Builds member snapshots from the store: the member with its identities and its loyalty account, one read.</summary>
public sealed class SnapshotLoader(IdentityStore store, MemberMapper mapper, ProgramCatalog catalog)
{
    // Shared loads serve many callers: they are not tied to one caller's cancellation, only bounded in time.
    static readonly TimeSpan LoadTimeout = TimeSpan.FromSeconds(10);

    public static long Version(MemberSnapshot snapshot) => snapshot.Member.Version + snapshot.LoyaltyVersion;

    public Task<MemberSnapshot?> ByPhoneAsync(byte[] phoneIndex) =>
        LoadAsync((db, ct) => MemberQueries.LoadByPhoneIndexAsync(db, phoneIndex, ct));

    public Task<MemberSnapshot?> ByIdentityAsync(IdentityKey identity) =>
        LoadAsync(async (db, ct) => await MemberQueries.OwnerOfAsync(db, identity, ct) is { } id ? await MemberQueries.LoadAsync(db, id, ct) : null);

    /// <summary>The active member with this id or, for a merged id, its survivor (with the merged id); null when none or erased.</summary>
    public async Task<(MemberSnapshot? Snapshot, string? RedirectedFrom)> ByIdAsync(string memberId)
    {
        string? redirectedFrom = null;
        var snapshot = await LoadAsync(async (db, ct) =>
        {
            var member = await MemberQueries.LoadAsync(db, memberId, ct);
            if (member is { State: MemberRowState.Merged, MergedIntoId: { } survivor })
            {
                redirectedFrom = member.Id;
                member = await MemberQueries.LoadAsync(db, survivor, ct);
            }
            return member;
        });
        return (snapshot, snapshot is null ? null : redirectedFrom);
    }

    /// <summary>
    /// A snapshot from the member as callers see it, the member's row and its account: what a load builds, and what a
    /// write that knows all three builds after its commit (<see cref="CacheChange.FreshSnapshots"/>).
    /// </summary>
    public static MemberSnapshot Build(Member member, MemberRecord record, LoyaltyAccountRecord? account, LoyaltyProgram program)
    {
        var snapshot = LoyaltyAccounts.Snapshot(member, record, account, program);
        if (record.PhoneIndex is { } index)
            snapshot.PhoneIndex = Google.Protobuf.ByteString.CopyFrom(index);
        return snapshot;
    }

    async Task<MemberSnapshot?> LoadAsync(Func<IdentityDbContext, CancellationToken, Task<MemberRecord?>> find)
    {
        using var timeout = new CancellationTokenSource(LoadTimeout);
        return await store.ReadAsync(async (db, ct) =>
        {
            var member = await find(db, ct);
            if (member is not { State: MemberRowState.Active })
                return null;
            var account = await db.LoyaltyAccounts.AsNoTracking().FirstOrDefaultAsync(a => a.MemberId == member.Id, ct);
            return Build(mapper.ToMessage(member), member, account, catalog.Program);
        }, timeout.Token);
    }
}
