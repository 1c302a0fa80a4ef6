using Identity.Service.Errors;
using Identity.Service.Storage;

namespace Identity.Service.Members;

/// <summary>What a merge moves from the absorbed member to the survivor. Decided without I/O, applied by the directory.</summary>
public sealed record MergePlan(IReadOnlyList<IdentityKey> MovedIdentities, IReadOnlyList<string> FilledFields, bool MovesPhone);

/// <summary>
/// The merge rules: the survivor keeps its own values and phone; the absorbed member's identities all move; its profile
/// fills only what the survivor lacks (and its phone only when the survivor has none). An automatic merge (a phone proven
/// by a phone-less identity) can only absorb a member without a phone.
/// </summary>
public static class MergePlanner
{
    public const string NameField = "name";
    public const string GenderField = "gender";
    public const string BirthdayField = "birthday";
    public const string PhoneField = "phone";

    public static MergePlan Plan(MemberRecord survivor, MemberRecord absorbed, MergeKind kind)
    {
        if (survivor.Id == absorbed.Id)
            throw IdentityException.Invalid("absorbed_member_id", "must differ from survivor_member_id");
        EnsureActive(survivor, "survivor");
        EnsureActive(absorbed, "absorbed");
        if (kind == MergeKind.PhoneProof && absorbed.PhoneIndex is not null)
            IdentityException.ThrowFailedPrecondition(ErrorReasons.PhoneBelongsToAnotherMember,
                $"Member {absorbed.Id} has a phone of its own; only an operator merge can absorb it.");

        var filled = new List<string>(4);
        if (survivor.Name is null && absorbed.Name is not null)
            filled.Add(NameField);
        if (survivor.Gender == 0 && absorbed.Gender != 0)
            filled.Add(GenderField);
        if (survivor.Birthday is null && absorbed.Birthday is not null)
            filled.Add(BirthdayField);
        var movesPhone = survivor.PhoneIndex is null && absorbed.PhoneIndex is not null;
        if (movesPhone)
            filled.Add(PhoneField);

        var moved = absorbed.Identities
            .Select(i => new IdentityKey(i.Channel, i.ExternalId))
            .OrderBy(i => i.Channel).ThenBy(i => i.ExternalId, StringComparer.Ordinal)
            .ToList();
        return new MergePlan(moved, filled, movesPhone);
    }

    static void EnsureActive(MemberRecord member, string role)
    {
        switch (member.State)
        {
            case MemberRowState.Erased:
                IdentityException.ThrowNotFound(ErrorReasons.MemberErased, $"The {role} member {member.Id} was erased.");
                break;
            case MemberRowState.Merged:
                IdentityException.ThrowFailedPrecondition(ErrorReasons.MemberAlreadyMerged,
                    $"The {role} member {member.Id} was already merged into {member.MergedIntoId}.");
                break;
        }
    }
}
