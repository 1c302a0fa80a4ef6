using Google.Protobuf.WellKnownTypes;
using Identity.Service.Phones;
using Identity.Service.Storage;
using Identity.V1;

namespace Identity.Service.Members;

/// <summary>Turns rows into contract messages. The phone is decrypted only to be masked.</summary>
public sealed class MemberMapper(PhoneProtector protector)
{
    const int MaxConsentHistory = 50;

    public Member ToMessage(MemberRecord record)
    {
        var message = new Member
        {
            MemberId = record.Id,
            State = (MemberState)(int)record.State,
            Profile = new V1.Profile
            {
                Name = record.Name ?? "",
                Gender = (Gender)record.Gender,
                Birthday = record.Birthday ?? "",
            },
            Enrollment = new Touchpoint
            {
                Channel = (Channel)record.EnrolledChannel,
                StoreId = record.EnrolledStoreId ?? "",
                GuideId = record.EnrolledGuideId ?? "",
            },
            CreatedAt = Timestamp.FromDateTimeOffset(record.CreatedAt),
            UpdatedAt = Timestamp.FromDateTimeOffset(record.UpdatedAt),
            Version = record.Version,
        };
        if (record.PhoneCiphertext is { } ciphertext)
        {
            var phone = protector.Decrypt(ciphertext);
            message.MaskedPhone = phone.Masked;
            message.PhoneCountryCode = phone.CountryCode;
        }
        // Newest first; the first decision per purpose is the one in force.
        foreach (var consent in record.Consents.OrderByDescending(c => c.DecidedAt).ThenByDescending(c => c.Id).Take(MaxConsentHistory))
        {
            var decision = new Consent
            {
                Purpose = (ConsentPurpose)consent.Purpose, Granted = consent.Granted, Channel = (Channel)consent.Channel,
                DecidedAt = Timestamp.FromDateTimeOffset(consent.DecidedAt),
            };
            message.ConsentHistory.Add(decision);
            if (message.Consents.All(c => c.Purpose != decision.Purpose))
                message.Consents.Add(decision);
        }
        foreach (var identity in record.Identities.OrderBy(i => i.Channel).ThenBy(i => i.ExternalId, StringComparer.Ordinal))
        {
            message.ChannelIdentities.Add(new BoundChannelIdentity
            {
                Channel = (Channel)identity.Channel,
                ExternalId = identity.ExternalId,
                BoundAt = Timestamp.FromDateTimeOffset(identity.BoundAt),
            });
        }
        return message;
    }

    public static MergeRecord ToMessage(MergeRecordRow row)
    {
        var message = new MergeRecord
        {
            MergeId = row.Id,
            SurvivorMemberId = row.SurvivorId,
            AbsorbedMemberId = row.AbsorbedId,
            Kind = (V1.MergeKind)row.Kind,
            Reason = row.Reason,
            Actor = row.Actor,
            MergedAt = Timestamp.FromDateTimeOffset(row.MergedAt),
        };
        var moved = System.Text.Json.JsonSerializer.Deserialize(row.MovedIdentities, MergeJsonContext.Default.ListMovedIdentity) ?? [];
        message.MovedIdentities.AddRange(moved.Select(m => new ChannelIdentity { Channel = (Channel)m.Channel, ExternalId = m.ExternalId }));
        if (row.FilledFields.Length > 0)
            message.FilledProfileFields.AddRange(row.FilledFields.Split(','));
        return message;
    }
}
