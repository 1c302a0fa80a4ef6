using System.Globalization;
using Identity.Service.Errors;
using Identity.Service.Phones;
using Identity.Service.Storage;
using Identity.V1;

namespace Identity.Service.Members;

/// <summary>
/// Reads requests into domain commands. Every problem is collected and reported at once as INVALID_ARGUMENT naming the
/// field (AIP-193), before anything is written.
/// </summary>
public static class MemberRequests
{
    const int MaxMaskPaths = 8;

    static readonly Channel[] UnionIdChannels =
        [Channel.WechatMiniProgram, Channel.WechatOfficialAccount, Channel.Wecom, Channel.App];

    public static EnrollCommand Read(EnrollMemberRequest request)
    {
        var v = new FieldViolations();
        Phone? phone = request.HasPhone ? ReadPhone(v, "phone", request.Phone) : null;
        var identities = request.ChannelIdentity is null ? [] : ReadIdentity(v, "channel_identity", request.ChannelIdentity, allowUnion: true);
        if (!request.HasPhone && request.ChannelIdentity is null)
            v.Add("phone", "phone or channel_identity is required");
        var profile = ReadProfile(v, "profile", request.Profile);
        var source = ReadSource(v, "source", request.Source, required: true);
        v.ThrowIfAny();
        return new EnrollCommand(phone, identities, profile, source!);
    }

    public static (MemberLookup Lookup, Loyalty.QuoteContext? Context) Read(ResolveMemberRequest request, DateTimeOffset now)
    {
        var v = new FieldViolations();
        MemberLookup? key = null;
        switch (request.KeyCase)
        {
            case ResolveMemberRequest.KeyOneofCase.Phone:
                if (ReadPhone(v, "phone", request.Phone) is { } phone)
                    key = new MemberLookup.ByPhone(phone);
                break;
            case ResolveMemberRequest.KeyOneofCase.ChannelIdentity:
                var identity = ReadIdentity(v, "channel_identity", request.ChannelIdentity, allowUnion: false);
                if (identity.Count == 1)
                    key = new MemberLookup.ByIdentity(identity[0]);
                break;
            case ResolveMemberRequest.KeyOneofCase.MemberId:
                if (MemberId(v, "member_id", request.MemberId) is { } id)
                    key = new MemberLookup.ById(id);
                break;
            default:
                v.Add("key", "one of phone, channel_identity or member_id is required");
                break;
        }
        Loyalty.QuoteContext? context = request.BenefitContext is null
            ? null
            : Loyalty.LoyaltyRequests.ReadContext(v, "benefit_context", request.BenefitContext, now);
        v.ThrowIfAny();
        return (key!, context);
    }

    /// <summary>Reads a loyalty call's member key (a oneof like ResolveMember's).</summary>
    public static MemberLookup? ReadMember(FieldViolations v, string field, V1.MemberKey? key)
    {
        switch (key?.KeyCase)
        {
            case V1.MemberKey.KeyOneofCase.Phone:
                return ReadPhone(v, $"{field}.phone", key.Phone) is { } phone ? new MemberLookup.ByPhone(phone) : null;
            case V1.MemberKey.KeyOneofCase.ChannelIdentity:
                var identity = ReadIdentity(v, $"{field}.channel_identity", key.ChannelIdentity, allowUnion: false);
                return identity.Count == 1 ? new MemberLookup.ByIdentity(identity[0]) : null;
            case V1.MemberKey.KeyOneofCase.MemberId:
                return MemberId(v, $"{field}.member_id", key.MemberId) is { } id ? new MemberLookup.ById(id) : null;
            default:
                v.Add(field, "is required: one of phone, channel_identity or member_id");
                return null;
        }
    }

    public static (string MemberId, IReadOnlyList<IdentityKey> Identities, Source Source) Read(BindChannelIdentityRequest request)
    {
        var v = new FieldViolations();
        var id = MemberId(v, "member_id", request.MemberId);
        IReadOnlyList<IdentityKey> identities = [];
        if (request.ChannelIdentity is null)
            v.Add("channel_identity", "is required");
        else
            identities = ReadIdentity(v, "channel_identity", request.ChannelIdentity, allowUnion: true);
        var source = ReadSource(v, "source", request.Source, required: false);
        v.ThrowIfAny();
        return (id!, identities, source!);
    }

    public static (string MemberId, ProfileUpdate Update) Read(UpdateProfileRequest request)
    {
        var v = new FieldViolations();
        var id = MemberId(v, "member_id", request.MemberId);
        var profile = request.Profile ?? new V1.Profile();
        var values = ReadProfile(v, "profile", profile);
        var paths = new HashSet<string>(StringComparer.Ordinal);
        if (request.UpdateMask is null)
        {
            // AIP-134: no mask means every field given a value.
            if (values.Name is not null) paths.Add(MergePlanner.NameField);
            if (values.Gender is > 0) paths.Add(MergePlanner.GenderField);
            if (values.Birthday is not null) paths.Add(MergePlanner.BirthdayField);
            if (paths.Count == 0)
                v.Add("profile", "gives no value to update (or set update_mask to clear fields)");
        }
        else if (request.UpdateMask.Paths.Count > MaxMaskPaths)
        {
            v.Add("update_mask", $"must have at most {MaxMaskPaths} paths");
        }
        else
        {
            foreach (var path in request.UpdateMask.Paths)
            {
                if (path == "*")
                    paths.UnionWith([MergePlanner.NameField, MergePlanner.GenderField, MergePlanner.BirthdayField]);
                else if (path is MergePlanner.NameField or MergePlanner.GenderField or MergePlanner.BirthdayField)
                    paths.Add(path);
                else
                    v.Add("update_mask", $"has unknown path '{Truncate(path)}' (allowed: name, gender, birthday, *)");
            }
            if (request.UpdateMask.Paths.Count == 0)
                v.Add("update_mask", "names no field (allowed: name, gender, birthday, *)");
        }
        v.ThrowIfAny();
        return (id!, new ProfileUpdate(
            paths.Contains(MergePlanner.NameField), values.Name,
            paths.Contains(MergePlanner.GenderField), values.Gender ?? 0,
            paths.Contains(MergePlanner.BirthdayField), values.Birthday));
    }

    public static (string MemberId, Phone Phone) Read(ChangePhoneRequest request)
    {
        var v = new FieldViolations();
        var id = MemberId(v, "member_id", request.MemberId);
        var phone = ReadPhone(v, "new_phone", request.NewPhone);
        ReadSource(v, "source", request.Source, required: false);
        v.ThrowIfAny();
        return (id!, phone!.Value);
    }

    public static (string Survivor, string Absorbed, string Reason, string Operator) Read(MergeMembersRequest request)
    {
        var v = new FieldViolations();
        var survivor = MemberId(v, "survivor_member_id", request.SurvivorMemberId);
        var absorbed = MemberId(v, "absorbed_member_id", request.AbsorbedMemberId);
        if (survivor is not null && survivor == absorbed)
            v.Add("absorbed_member_id", "must differ from survivor_member_id");
        var reason = v.Required("reason", request.Reason, MemberLimits.ReasonLength);
        var actor = v.Required("operator", request.Operator, MemberLimits.OperatorLength);
        v.ThrowIfAny();
        return (survivor!, absorbed!, reason!, actor!);
    }

    public static string Read(GetMergeHistoryRequest request)
    {
        var v = new FieldViolations();
        var id = MemberId(v, "member_id", request.MemberId);
        v.ThrowIfAny();
        return id!;
    }

    public static (string MemberId, ConsentPurpose Purpose, bool Granted, int Channel) Read(SetConsentRequest request)
    {
        var v = new FieldViolations();
        var id = MemberId(v, "member_id", request.MemberId);
        v.KnownEnum("purpose", request.Purpose, required: true);
        v.KnownEnum("channel", request.Channel, required: true);
        v.ThrowIfAny();
        return (id!, request.Purpose, request.Granted, (int)request.Channel);
    }

    /// <summary>
    /// The erasure's reason is a code and an optional ticket reference. The deprecated free-text <c>reason</c> is only
    /// checked for its bound and then discarded: it stands in for a missing code so that older clients keep working.
    /// </summary>
    public static EraseCommand Read(EraseMemberRequest request)
    {
        var v = new FieldViolations();
        var id = MemberId(v, "member_id", request.MemberId);
#pragma warning disable CS0612 // The deprecated field is read for compatibility only.
        var legacyReason = v.Optional("reason", request.Reason, MemberLimits.ReasonLength);
#pragma warning restore CS0612
        v.KnownEnum("reason_code", request.ReasonCode, required: legacyReason is null);
        string? ticket = null;
        if (request.TicketRef.Length > 0)
        {
            if (request.TicketRef.Length > MemberLimits.TicketRefLength || !request.TicketRef.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
                v.Add("ticket_ref", $"must be 1 to {MemberLimits.TicketRefLength} characters of A-Z, a-z, 0-9, '-' and '_'");
            else
                ticket = request.TicketRef;
        }
        v.ThrowIfAny();
        return new EraseCommand(id!, request.ReasonCode, ticket);
    }

    static Phone? ReadPhone(FieldViolations v, string field, string value)
    {
        if (Phone.TryParse(value, out var phone, out var error))
            return phone;
        v.Add(field, error);
        return null;
    }

    static string? MemberId(FieldViolations v, string field, string value)
    {
        var id = v.Required(field, value, MemberLimits.MemberIdLength);
        return id;
    }

    static IReadOnlyList<IdentityKey> ReadIdentity(FieldViolations v, string field, ChannelIdentity identity, bool allowUnion)
    {
        var ok = v.KnownEnum($"{field}.channel", identity.Channel, required: true);
        var externalId = v.Required($"{field}.external_id", identity.ExternalId, MemberLimits.ExternalIdLength);
        if (!ok || externalId is null)
            return [];
        var keys = new List<IdentityKey>(2) { new((int)identity.Channel, externalId) };
        if (allowUnion && identity.HasUnionId)
        {
            if (!UnionIdChannels.Contains(identity.Channel))
                v.Add($"{field}.union_id", "is only accepted with a WeChat channel or the brand app");
            else if (v.Required($"{field}.union_id", identity.UnionId, MemberLimits.ExternalIdLength) is { } unionId)
                keys.Add(new IdentityKey((int)Channel.WechatUnion, unionId));
        }
        return keys;
    }

    static ProfileValues ReadProfile(FieldViolations v, string field, V1.Profile? profile)
    {
        if (profile is null)
            return ProfileValues.None;
        var name = v.Optional($"{field}.name", profile.Name, MemberLimits.NameLength);
        v.KnownEnum($"{field}.gender", profile.Gender, required: false);
        var birthday = ReadBirthday(v, $"{field}.birthday", profile.Birthday);
        return new ProfileValues(name, profile.Gender == Gender.Unspecified ? null : (int)profile.Gender, birthday);
    }

    /// <summary>Accepts <c>YYYY-MM-DD</c> (a real date, not in the future's far side) or <c>--MM-DD</c> for an unknown year.</summary>
    internal static string? ReadBirthday(FieldViolations v, string field, string value)
    {
        if (string.IsNullOrWhiteSpace(value))
            return null;
        var trimmed = value.Trim();
        if (trimmed.Length == 10 && DateOnly.TryParseExact(trimmed, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
            && date.Year >= 1900 && date.Year <= 2100)
            return trimmed;
        if (trimmed.Length == 7 && trimmed.StartsWith("--", StringComparison.Ordinal)
            && DateOnly.TryParseExact("2000" + trimmed[1..], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
            return trimmed;
        v.Add(field, "must be a calendar date YYYY-MM-DD (1900-2100) or --MM-DD");
        return null;
    }

    static Source? ReadSource(FieldViolations v, string field, Touchpoint? touchpoint, bool required)
    {
        if (touchpoint is null)
        {
            if (required)
                v.Add($"{field}.channel", "is required");
            return new Source(0, null, null);
        }
        v.KnownEnum($"{field}.channel", touchpoint.Channel, required);
        var store = v.Optional($"{field}.store_id", touchpoint.StoreId, MemberLimits.StoreIdLength);
        var guide = v.Optional($"{field}.guide_id", touchpoint.GuideId, MemberLimits.GuideIdLength);
        return new Source((int)touchpoint.Channel, store, guide);
    }

    static string Truncate(string value) => value.Length <= 32 ? value : value[..32] + "…";
}
