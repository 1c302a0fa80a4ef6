using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Identity.V1;

namespace Identity.Cli.Output;

/// <summary>Human-readable output: compact blocks of label/value lines.</summary>
internal sealed partial class Printer(TextWriter output)
{
    private const int LabelWidth = 9;
    private const string None = "-";

    public void Enrolled(EnrollMemberResponse response)
    {
        Member(response.Member, response.Created ? "(created)" : "(existing)");
        foreach (var merge in response.Merges)
        {
            output.WriteLine();
            Merge(merge);
        }
    }

    public void Resolved(ResolveMemberResponse response)
    {
        Member(response.Member, response.RedirectedFromMemberId is { Length: > 0 } from ? $"redirected from {from}" : null);
        if (response.Benefits is not null)
        {
            output.WriteLine();
            Quote(response.Benefits);
        }
    }

    public void Bound(BindChannelIdentityResponse response) =>
        Member(response.Member, response.AlreadyBound ? "(already bound)" : "(bound)");

    public void Merged(MergeMembersResponse response)
    {
        Merge(response.Merge);
        output.WriteLine();
        Member(response.Member);
    }

    public void History(GetMergeHistoryResponse response)
    {
        if (response.Merges.Count == 0)
        {
            output.WriteLine("no merges");
            return;
        }
        var kindWidth = response.Merges.Max(m => KindText(m.Kind).Length);
        foreach (var merge in response.Merges)
        {
            output.WriteLine(
                $"{Time(merge.MergedAt)}  {KindText(merge.Kind).PadRight(kindWidth)}  {merge.AbsorbedMemberId} -> {merge.SurvivorMemberId}" +
                $"  by {Or(merge.Actor)}: {Or(merge.Reason)}");
        }
    }

    public void Erased(EraseMemberResponse response)
    {
        Line("erased", response.MemberId, response.AlreadyErased ? "(already erased)" : null);
        Line("at", Time(response.ErasedAt));
        Line("reason", ProtoNames.ErasureReason.Format(response.ReasonCode));
        if (response.TicketRef.Length > 0)
            Line("ticket", response.TicketRef);
    }

    public void Member(Member? member, string? note = null)
    {
        if (member is null)
        {
            output.WriteLine("(no member in the response)");
            return;
        }
        Line("member", member.MemberId, note);
        if (member.State is not (MemberState.Active or MemberState.Unspecified))
        {
            Line("state", ProtoNames.MemberState.Format(member.State));
        }
        Line("phone", Phone(member));
        var profile = member.Profile ?? new Profile();
        Line("name", $"{Or(profile.Name)}   gender {Gender(profile.Gender)}   birthday {Or(profile.Birthday)}");
        Line("enrolled", Touchpoint(member.Enrollment) + $"  at {Time(member.CreatedAt)}");
        Line("version", member.Version.ToString(CultureInfo.InvariantCulture), $"updated {Time(member.UpdatedAt)}");
        Line("consents", member.Consents.Count == 0 ? "(none)" : string.Join(", ", member.Consents.Select(Consent)));
        if (member.ChannelIdentities.Count == 0)
        {
            Line("identities", "(none)");
            return;
        }
        output.WriteLine("identities");
        var channelWidth = member.ChannelIdentities.Max(i => ProtoNames.Channel.Format(i.Channel).Length);
        var idWidth = member.ChannelIdentities.Max(i => i.ExternalId.Length);
        foreach (var identity in member.ChannelIdentities)
        {
            output.WriteLine(
                $"  {ProtoNames.Channel.Format(identity.Channel).PadRight(channelWidth)}  {identity.ExternalId.PadRight(idWidth)}  (bound {Time(identity.BoundAt)})");
        }
    }

    private void Merge(MergeRecord merge)
    {
        Line("merge", merge.MergeId, $"({KindText(merge.Kind)})");
        Line("survivor", merge.SurvivorMemberId);
        Line("absorbed", merge.AbsorbedMemberId);
        Line("reason", Or(merge.Reason));
        Line("actor", Or(merge.Actor));
        Line("at", Time(merge.MergedAt));
        if (merge.MovedIdentities.Count > 0)
        {
            Line("moved", string.Join(", ", merge.MovedIdentities.Select(i => $"{ProtoNames.Channel.Format(i.Channel)} {i.ExternalId}")));
        }
        if (merge.FilledProfileFields.Count > 0)
        {
            Line("filled", string.Join(", ", merge.FilledProfileFields));
        }
    }

    private void Line(string label, string value, string? note = null) =>
        output.WriteLine(note is null ? $"{label.PadRight(LabelWidth - 1)} {value}" : $"{label.PadRight(LabelWidth - 1)} {value}   {note}");

    private static string Phone(Member member) => member.MaskedPhone switch
    {
        "" => None,
        // Mainland China numbers are the common case; any other country shows its calling code.
        var masked when member.PhoneCountryCode is 0 or 86 => masked,
        var masked => $"+{member.PhoneCountryCode.ToString(CultureInfo.InvariantCulture)} {masked}",
    };

    private static string Touchpoint(Touchpoint? touchpoint)
    {
        if (touchpoint is null)
        {
            return None;
        }
        var text = touchpoint.Channel == Channel.Unspecified ? None : ProtoNames.Channel.Format(touchpoint.Channel);
        if (touchpoint.StoreId.Length > 0)
        {
            text += $"  store {touchpoint.StoreId}";
        }
        if (touchpoint.GuideId.Length > 0)
        {
            text += $"  guide {touchpoint.GuideId}";
        }
        return text;
    }

    /// <summary><c>partner_sharing granted (wechat_mini_program 2026-11-23 02:00:00Z)</c>.</summary>
    private static string Consent(Consent consent)
    {
        var where = consent.Channel == Channel.Unspecified ? None : ProtoNames.Channel.Format(consent.Channel);
        return $"{ProtoNames.ConsentPurpose.Format(consent.Purpose)} {(consent.Granted ? "granted" : "withdrawn")} ({where} {Time(consent.DecidedAt)})";
    }

    private static string Gender(Gender gender) => gender == V1.Gender.Unspecified ? None : ProtoNames.Gender.Format(gender);

    private static string KindText(MergeKind kind) => kind == MergeKind.Unspecified ? "merge" : ProtoNames.MergeKind.Format(kind).Replace('_', ' ');

    private static string Or(string value) => value.Length > 0 ? value : None;

    private static string Time(Timestamp? timestamp) =>
        timestamp is null ? None : timestamp.ToDateTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
