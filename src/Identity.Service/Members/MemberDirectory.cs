using System.Text.Json;
using Identity.Service.Caching;
using Identity.Service.Errors;
using Identity.Service.Hosting;
using Identity.Service.Loyalty;
using Identity.Service.Phones;
using Identity.Service.Storage;
using Identity.V1;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Members;

/// <summary>
/// The member directory: enrolment, resolution, binding, merges, phone changes and erasure, each one store transaction.
/// Every operation addressed by member id follows a merged id to its survivor (except merging, which names ids exactly).
/// </summary>
public sealed class MemberDirectory(
    IdentityStore store, CachedWrites writes, PhoneProtector protector, LoyaltyMerger loyalty, TimeProvider clock,
    ILogger<MemberDirectory> logger)
{
    public Task<EnrollResult> EnrollAsync(EnrollCommand command, CancellationToken cancellationToken) =>
        writes.WriteAsync(async (db, change, ct) =>
        {
            var now = clock.GetUtcNow();
            var phoneIndex = command.Phone is { } given ? protector.BlindIndex(given) : null;
            var phoneOwner = phoneIndex is null ? null : await MemberQueries.LoadByPhoneIndexAsync(db, phoneIndex, ct);

            // The distinct members that own the given identities, other than the phone's own member.
            var identityOwners = new List<MemberRecord>();
            foreach (var identity in command.Identities)
            {
                var ownerId = await MemberQueries.OwnerOfAsync(db, identity, ct);
                if (ownerId is null || ownerId == phoneOwner?.Id || identityOwners.Any(o => o.Id == ownerId))
                    continue;
                var owner = await MemberQueries.LoadAsync(db, ownerId, ct) ?? throw new InvalidOperationException("Identity owner row is missing.");
                // On PostgreSQL a concurrent enrolment of this very phone and identity can commit between the phone's read
                // and this one: the owner is the phone's member, which the phone's read did not see yet. The write lost the
                // race and runs again from the start, and then finds that member by its phone (as if it had come second).
                if (phoneOwner is null && phoneIndex is not null && owner.PhoneIndex is { } ownerPhone && ownerPhone.AsSpan().SequenceEqual(phoneIndex))
                    throw new DbUpdateConcurrencyException("The phone's member was enrolled after this write looked the phone up.");
                if (command.Phone is not null && owner.PhoneIndex is not null)
                    IdentityException.ThrowFailedPrecondition(ErrorReasons.IdentityBoundToAnotherMember,
                        $"The {ChannelName(identity.Channel)} identity is bound to member {owner.Id}, which has a different phone.");
                identityOwners.Add(owner);
            }

            MemberRecord member;
            var created = false;
            var merges = new List<MergeRecordRow>();
            if (command.Phone is { } phone)
            {
                if (phoneOwner is not null)
                {
                    member = phoneOwner;
                }
                else if (identityOwners.Count > 0)
                {
                    // A fan known only by identity proves a new phone: the oldest such member takes it.
                    member = identityOwners.OrderBy(o => o.CreatedAt).First();
                    identityOwners.Remove(member);
                    member.PhoneCiphertext = protector.Encrypt(phone);
                    member.PhoneIndex = phoneIndex;
                }
                else
                {
                    if (command.MobileRequiredToCreate && phone.IsFixedLine)
                        throw IdentityException.Invalid("phone",
                            "is a fixed line; this brand enrols new members with a mobile number", ErrorReasons.MobileRequired);
                    member = NewMember(phone, phoneIndex, command, now);
                    db.Members.Add(member);
                    created = true;
                }

                // Phone-less members whose identity just proved this phone are the same person: merge them in.
                foreach (var absorbed in identityOwners)
                    merges.Add(await MergeIntoAsync(db, change, member, absorbed, MergeKind.PhoneProof,
                        "A channel identity of a member without a phone proved a phone that belongs to the survivor.",
                        command.Source.ToString(), now, ct));
            }
            else if (identityOwners.Count > 1)
            {
                IdentityException.ThrowFailedPrecondition(ErrorReasons.IdentitiesBelongToDifferentMembers,
                    $"The given identities belong to different members ({string.Join(", ", identityOwners.Select(o => o.Id))}); merge them with MergeMembers.");
                return null!;
            }
            else if (identityOwners.Count == 1)
            {
                member = identityOwners[0];
            }
            else
            {
                member = NewMember(null, null, command, now);
                db.Members.Add(member);
                created = true;
            }

            var changed = BindMissing(member, command.Identities, command.Source, now);
            if (!created)
                changed |= FillProfileGaps(member, command.Profile);
            if (changed && !created)
                member.Touch(now);

            Log.Enrolled(logger, member.Id, command.Phone?.Masked ?? "(none)", ChannelName(command.Source.Channel), created);
            return new EnrollResult(member, created, merges);
        }, cancellationToken);

    /// <summary>Finds a member in the store (the cache's fallback, and the source of NOT_FOUND reasons).</summary>
    public Task<ResolveResult> ResolveAsync(MemberLookup key, CancellationToken cancellationToken) =>
        store.ReadAsync(async (db, ct) =>
        {
            var (member, redirectedFrom) = await MemberQueries.ResolveAsync(db, protector, key, ct);
            return new ResolveResult(member, redirectedFrom);
        }, cancellationToken);

    public Task<BindResult> BindAsync(string memberId, IReadOnlyList<IdentityKey> identities, Source source, MemberScope? scope,
        CancellationToken cancellationToken) =>
        writes.WriteAsync(async (db, change, ct) =>
        {
            var (member, _) = await MemberQueries.LoadActiveAsync(db, memberId, ct, scope);
            foreach (var identity in identities)
            {
                var ownerId = await MemberQueries.OwnerOfAsync(db, identity, ct);
                if (ownerId is not null && ownerId != member.Id)
                    IdentityException.ThrowFailedPrecondition(ErrorReasons.IdentityBoundToAnotherMember,
                        $"The {ChannelName(identity.Channel)} identity is bound to member {ownerId}. " +
                        "Enrol with the phone it proves (a phone-less member is then merged) or merge the members with MergeMembers.");
            }
            var changed = BindMissing(member, identities, source, clock.GetUtcNow());
            if (changed)
                member.Touch(clock.GetUtcNow());
            return new BindResult(member, !changed);
        }, cancellationToken);

    /// <summary>
    /// Sets profile fields. A birthday unlocks birthday benefits, so once set only an operator (<paramref name="mayChangeBirthday"/>)
    /// may change or clear it; anyone in scope may set it while it is empty.
    /// </summary>
    public Task<MemberRecord> UpdateProfileAsync(string memberId, ProfileUpdate update, MemberScope? scope, bool mayChangeBirthday,
        CancellationToken cancellationToken) =>
        writes.WriteAsync(async (db, change, ct) =>
        {
            var (member, _) = await MemberQueries.LoadActiveAsync(db, memberId, ct, scope);
            if (update.SetBirthday && member.Birthday is not null && member.Birthday != update.Birthday && !mayChangeBirthday)
                IdentityException.ThrowFailedPrecondition(ErrorReasons.BirthdayAlreadySet,
                    "The member's birthday is already set; only an operator (admin client) can change it.");
            var changed = false;
            if (update.SetName && member.Name != update.Name)
                (member.Name, changed) = (update.Name, true);
            if (update.SetGender && member.Gender != update.Gender)
                (member.Gender, changed) = (update.Gender, true);
            if (update.SetBirthday && member.Birthday != update.Birthday)
                (member.Birthday, changed) = (update.Birthday, true);
            if (changed)
                member.Touch(clock.GetUtcNow());
            return member;
        }, cancellationToken);

    public Task<MemberRecord> ChangePhoneAsync(string memberId, Phone phone, CancellationToken cancellationToken) =>
        writes.WriteAsync(async (db, change, ct) =>
        {
            var (member, _) = await MemberQueries.LoadActiveAsync(db, memberId, ct);
            var index = protector.BlindIndex(phone);
            if (member.PhoneIndex is not null && member.PhoneIndex.AsSpan().SequenceEqual(index))
                return member;
            var owner = await db.Members.Where(m => m.PhoneIndex == index).Select(m => m.Id).FirstOrDefaultAsync(ct);
            if (owner is not null)
                IdentityException.ThrowFailedPrecondition(ErrorReasons.PhoneBelongsToAnotherMember,
                    $"The new phone belongs to member {owner}; merge the members instead.");
            member.PhoneCiphertext = protector.Encrypt(phone);
            member.PhoneIndex = index;
            member.Touch(clock.GetUtcNow());
            Log.PhoneChanged(logger, member.Id, phone.Masked);
            return member;
        }, cancellationToken);

    public Task<(MemberRecord Survivor, MergeRecordRow Merge)> MergeAsync(
        string survivorId, string absorbedId, string reason, string actor, CancellationToken cancellationToken) =>
        writes.WriteAsync(async (db, change, ct) =>
        {
            var survivor = await MemberQueries.LoadAsync(db, survivorId, ct);
            if (survivor is null)
                IdentityException.ThrowNotFound(ErrorReasons.MemberNotFound, $"Survivor member {survivorId} does not exist.");
            var absorbed = await MemberQueries.LoadAsync(db, absorbedId, ct);
            if (absorbed is null)
                IdentityException.ThrowNotFound(ErrorReasons.MemberNotFound, $"Absorbed member {absorbedId} does not exist.");

            // Repeating a merge that already happened returns its original record.
            if (absorbed.State == MemberRowState.Merged && absorbed.MergedIntoId == survivor.Id)
            {
                var existing = await db.Merges.FirstAsync(m => m.AbsorbedId == absorbed.Id, ct);
                return (survivor, existing);
            }

            var merge = await MergeIntoAsync(db, change, survivor, absorbed, MergeKind.Operator, reason, actor, clock.GetUtcNow(), ct);
            return (survivor, merge);
        }, cancellationToken);

    public Task<IReadOnlyList<MergeRecordRow>> GetMergeHistoryAsync(string memberId, CancellationToken cancellationToken) =>
        store.ReadAsync<IReadOnlyList<MergeRecordRow>>(async (db, ct) =>
        {
            var member = await db.Members.Where(m => m.Id == memberId)
                .Select(m => new { m.Id, m.MergedIntoId }).FirstOrDefaultAsync(ct);
            if (member is null)
                IdentityException.ThrowNotFound(ErrorReasons.MemberNotFound, $"Member {memberId} does not exist.");
            var current = member.MergedIntoId ?? member.Id;
            var family = await db.Members.Where(m => m.MergedIntoId == current).Select(m => m.Id).ToListAsync(ct);
            family.Add(current);
            var merges = await db.Merges
                .Where(m => family.Contains(m.SurvivorId) || family.Contains(m.AbsorbedId))
                .ToListAsync(ct);
            return merges.OrderByDescending(m => m.MergedAt).ThenByDescending(m => m.Id, StringComparer.Ordinal).ToList();
        }, cancellationToken);

    public Task<MemberRecord> SetConsentAsync(string memberId, ConsentPurpose purpose, bool granted, int channel, MemberScope? scope,
        CancellationToken cancellationToken) =>
        writes.WriteAsync((db, change, ct) => SetConsentAsync(db, change, memberId, purpose, granted, channel, scope, ct), cancellationToken);

    /// <summary>Records a consent decision inside the caller's transaction (an idempotent write keeps its reply with it).</summary>
    public async Task<MemberRecord> SetConsentAsync(IdentityDbContext db, CacheChange change, string memberId, ConsentPurpose purpose, bool granted,
        int channel, MemberScope? scope, CancellationToken ct)
    {
        var (member, _) = await MemberQueries.LoadActiveAsync(db, memberId, ct, scope);
        var now = clock.GetUtcNow();
        member.Consents.Add(new ConsentRecord { MemberId = member.Id, Purpose = (int)purpose, Granted = granted, Channel = channel, DecidedAt = now });
        member.Touch(now);
        return member;
    }

    public async Task<EraseResult> EraseAsync(EraseCommand command, CancellationToken cancellationToken)
    {
        var result = await writes.WriteAsync(async (db, change, ct) =>
        {
            var member = await MemberQueries.LoadAsync(db, command.MemberId, ct);
            if (member is { State: MemberRowState.Merged, MergedIntoId: { } survivorId })
                member = await MemberQueries.LoadAsync(db, survivorId, ct);
            if (member is null)
                IdentityException.ThrowNotFound(ErrorReasons.MemberNotFound, $"Member {command.MemberId} does not exist.");
            if (member is { State: MemberRowState.Erased, ErasedAt: { } erasedAt })
                return new EraseResult(member.Id, erasedAt, AlreadyErased: true, (ErasureReason)member.ErasureReasonCode, member.ErasureTicketRef);

            var now = clock.GetUtcNow();
            await MemberErasure.EraseAsync(db, change, member, command.Reason, command.TicketRef, now, now, ct);
            Log.Erased(logger, member.Id);
            return new EraseResult(member.Id, now, AlreadyErased: false, command.Reason, command.TicketRef);
        }, cancellationToken);
        // Deleted content was overwritten in the pages (secure_delete); the checkpoint also empties the write-ahead log,
        // which still holds earlier page images with the person's data.
        // It runs even when the caller has gone away: the erasure is committed and must not leave copies behind.
        if (!result.AlreadyErased && !await store.CheckpointAsync(CancellationToken.None))
            Log.CheckpointIncomplete(logger);
        return result;
    }

    async Task<MergeRecordRow> MergeIntoAsync(IdentityDbContext db, CacheChange change, MemberRecord survivor, MemberRecord absorbed,
        MergeKind kind, string reason, string actor, DateTimeOffset now, CancellationToken ct)
    {
        var plan = MergePlanner.Plan(survivor, absorbed, kind);

        foreach (var identity in absorbed.Identities.ToList())
        {
            identity.MemberId = survivor.Id;
            absorbed.Identities.Remove(identity);
            survivor.Identities.Add(identity);
        }
        // Consent decisions follow the person; the newest per purpose stays in force.
        foreach (var consent in absorbed.Consents.ToList())
        {
            consent.MemberId = survivor.Id;
            absorbed.Consents.Remove(consent);
            survivor.Consents.Add(consent);
        }
        if (plan.FilledFields.Contains(MergePlanner.NameField))
            survivor.Name = absorbed.Name;
        if (plan.FilledFields.Contains(MergePlanner.GenderField))
            survivor.Gender = absorbed.Gender;
        if (plan.FilledFields.Contains(MergePlanner.BirthdayField))
            survivor.Birthday = absorbed.Birthday;

        var (ciphertext, index) = (absorbed.PhoneCiphertext, absorbed.PhoneIndex);
        absorbed.PhoneCiphertext = null;
        absorbed.PhoneIndex = null;
        absorbed.Name = null;
        absorbed.Gender = 0;
        absorbed.Birthday = null;
        absorbed.State = MemberRowState.Merged;
        absorbed.MergedIntoId = survivor.Id;
        absorbed.Touch(now);
        if (plan.MovesPhone)
        {
            // The unique phone index is checked per statement: release the phone before the survivor takes it.
            await db.SaveChangesAsync(ct);
            survivor.PhoneCiphertext = ciphertext;
            survivor.PhoneIndex = index;
        }
        survivor.Touch(now);
        await loyalty.MergeAsync(db, survivor, absorbed, now, ct);

        // Keep redirects one hop deep: whoever pointed at the absorbed member now points at the survivor.
        await db.Members.Where(m => m.MergedIntoId == absorbed.Id)
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.MergedIntoId, survivor.Id), ct);

        var record = new MergeRecordRow
        {
            Id = NewId(),
            SurvivorId = survivor.Id,
            AbsorbedId = absorbed.Id,
            Kind = (int)kind,
            Reason = reason,
            Actor = actor,
            MovedIdentities = JsonSerializer.Serialize(plan.MovedIdentities.Select(i => new MovedIdentity(i.Channel, i.ExternalId)).ToList(),
                MergeJsonContext.Default.ListMovedIdentity),
            FilledFields = string.Join(',', plan.FilledFields),
            MergedAt = now,
        };
        db.Merges.Add(record);
        Log.Merged(logger, absorbed.Id, survivor.Id, kind.ToString());
        return record;
    }

    MemberRecord NewMember(Phone? phone, byte[]? phoneIndex, EnrollCommand command, DateTimeOffset now) => new()
    {
        Id = NewId(),
        PhoneCiphertext = phone is { } p ? protector.Encrypt(p) : null,
        PhoneIndex = phoneIndex,
        Name = command.Profile.Name,
        Gender = command.Profile.Gender ?? 0,
        Birthday = command.Profile.Birthday,
        EnrolledChannel = command.Source.Channel,
        EnrolledStoreId = command.Source.StoreId,
        EnrolledGuideId = command.Source.GuideId,
        CreatedAt = now,
        UpdatedAt = now,
        Version = 1,
    };

    static bool BindMissing(MemberRecord member, IReadOnlyList<IdentityKey> identities, Source source, DateTimeOffset now)
    {
        var changed = false;
        foreach (var identity in identities)
        {
            if (member.Identities.Any(i => i.Channel == identity.Channel && i.ExternalId == identity.ExternalId))
                continue;
            member.Identities.Add(new ChannelIdentityRecord
            {
                Channel = identity.Channel,
                ExternalId = identity.ExternalId,
                MemberId = member.Id,
                BoundAt = now,
                BoundViaChannel = source.Channel,
                BoundAtStoreId = source.StoreId,
            });
            changed = true;
        }
        return changed;
    }

    /// <summary>Enrolment never overwrites what an existing member told us; it only fills what is missing.</summary>
    static bool FillProfileGaps(MemberRecord member, ProfileValues profile)
    {
        var changed = false;
        if (member.Name is null && profile.Name is not null)
            (member.Name, changed) = (profile.Name, true);
        if (member.Gender == 0 && profile.Gender is > 0)
            (member.Gender, changed) = (profile.Gender.Value, true);
        if (member.Birthday is null && profile.Birthday is not null)
            (member.Birthday, changed) = (profile.Birthday, true);
        return changed;
    }

    internal static string NewId() => Guid.CreateVersion7().ToString("N");

    static string ChannelName(int channel) => ((V1.Channel)channel).ToString();
}
