using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Identity.IntegrationTests.Security;

/// <summary>Partners learn only what a consenting member agreed to share, under an id that is theirs alone.</summary>
public sealed class PartnerTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    IdentityServer Server => fixture.Server;

    PartnerService.PartnerServiceClient PartnerAs(string key) => new(Server.WithKey(key));

    async Task<(Member Member, string Phone)> MemberAsync(bool consented)
    {
        var phone = TestData.Phone();
        var member = (await Server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone, name: "王秀英"))).Member;
        if (consented)
            await Server.Members.SetConsentAsync(new SetConsentRequest
            {
                MemberId = member.MemberId, Purpose = ConsentPurpose.PartnerSharing, Granted = true, Channel = Channel.WechatMiniProgram,
            });
        return (member, phone);
    }

    [Fact]
    public async Task A_member_without_consent_looks_exactly_like_a_non_member()
    {
        var partner = PartnerAs(await Server.CreateClientAsync("partner", ClientRole.Partner));
        var (_, unconsented) = await MemberAsync(consented: false);

        var forMember = await partner.CheckMembershipAsync(new CheckMembershipRequest { Phone = unconsented });
        var forStranger = await partner.CheckMembershipAsync(new CheckMembershipRequest { Phone = TestData.Phone() });

        Assert.Equal(forStranger, forMember);
        Assert.False(forMember.IsMember);
        await Rpc.FailsWith(StatusCode.NotFound, partner.RecordPartnerOrderAsync(new RecordPartnerOrderRequest
        {
            Phone = unconsented, OrderId = "P-1", AmountFen = 10_000, PaidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        }));
    }

    [Fact]
    public async Task A_consenting_member_is_shown_with_four_facts_and_an_id_only_this_partner_can_use()
    {
        var first = PartnerAs(await Server.CreateClientAsync("partner-a", ClientRole.Partner));
        var second = PartnerAs(await Server.CreateClientAsync("partner-b", ClientRole.Partner));
        var (member, phone) = await MemberAsync(consented: true);

        var seen = await first.CheckMembershipAsync(new CheckMembershipRequest { Phone = TestData.CrmForm(phone) });
        Assert.True(seen.IsMember);
        Assert.Equal("普通", seen.TierName);
        Assert.False(seen.Paid);
        Assert.Equal(TestData.Masked(phone), seen.MaskedPhone);
        Assert.DoesNotContain(member.MemberId, seen.PartnerMemberId, StringComparison.Ordinal);
        // The reply type itself has no room for more: no name, birthday, full phone or channel identity.
        Assert.Equal(["is_member", "tier_name", "paid", "masked_phone", "partner_member_id"], CheckMembershipResponse.Descriptor.Fields.InFieldNumberOrder().Select(f => f.Name));
        var bytes = System.Text.Encoding.UTF8.GetString(Google.Protobuf.MessageExtensions.ToByteArray(seen));
        Assert.DoesNotContain("王秀英", bytes, StringComparison.Ordinal);
        Assert.DoesNotContain(phone, bytes, StringComparison.Ordinal);

        // Stable for one partner, different for another, and useless to the other.
        var again = await first.CheckMembershipAsync(new CheckMembershipRequest { PartnerMemberId = seen.PartnerMemberId });
        Assert.Equal(seen, again);
        var bySecond = await second.CheckMembershipAsync(new CheckMembershipRequest { Phone = phone });
        Assert.NotEqual(seen.PartnerMemberId, bySecond.PartnerMemberId);
        Assert.False((await second.CheckMembershipAsync(new CheckMembershipRequest { PartnerMemberId = seen.PartnerMemberId })).IsMember);

        // A co-branded order earns points at the partner rate (0.5 per yuan), once.
        var order = new RecordPartnerOrderRequest
        {
            PartnerMemberId = seen.PartnerMemberId, OrderId = "P-" + Guid.NewGuid().ToString("N"), AmountFen = 20_000,
            PaidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
        };
        var earned = await first.RecordPartnerOrderAsync(order);
        Assert.Equal(100, earned.PointsEarned);
        Assert.True((await first.RecordPartnerOrderAsync(order)).Replayed);

        // Withdrawing consent makes the member invisible at once.
        await Server.Members.SetConsentAsync(new SetConsentRequest
        {
            MemberId = member.MemberId, Purpose = ConsentPurpose.PartnerSharing, Granted = false, Channel = Channel.WechatMiniProgram,
        });
        Assert.False((await first.CheckMembershipAsync(new CheckMembershipRequest { PartnerMemberId = seen.PartnerMemberId })).IsMember);
        var current = (await Server.Members.ResolveMemberAsync(new ResolveMemberRequest { MemberId = member.MemberId })).Member;
        Assert.False(Assert.Single(current.Consents).Granted);
        Assert.Equal(2, current.ConsentHistory.Count);

        // Partners can reach nothing else.
        await Rpc.FailsWith(StatusCode.PermissionDenied, new MemberService.MemberServiceClient(Server.WithKey(Server.TestKey == "" ? "" : (await Server.CreateClientAsync("partner-c", ClientRole.Partner))))
            .ResolveMemberAsync(new ResolveMemberRequest { Phone = phone }));
    }

    [Fact]
    public async Task Every_partner_call_and_admin_write_is_audited_without_a_phone()
    {
        var partnerKey = await Server.CreateClientAsync("audited-partner", ClientRole.Partner);
        var partner = PartnerAs(partnerKey);
        var (member, phone) = await MemberAsync(consented: true);
        await partner.CheckMembershipAsync(new CheckMembershipRequest { Phone = phone });
        await partner.CheckMembershipAsync(new CheckMembershipRequest { Phone = TestData.Phone() });
        await Rpc.FailsWith(StatusCode.PermissionDenied, new LoyaltyService.LoyaltyServiceClient(Server.WithKey(partnerKey)).GetProgramAsync(new GetProgramRequest()));
        await Server.Members.UpdateProfileAsync(new UpdateProfileRequest { MemberId = member.MemberId, Profile = new Profile { Name = "王秀英" } });

        var clients = await Server.Admin.ListClientsAsync(new ListClientsRequest());
        var partnerId = clients.Clients.Single(c => c.KeyPrefix == partnerKey[..10]).ClientId;
        var partnerEvents = (await Server.Admin.ListAuditEventsAsync(new ListAuditEventsRequest { ClientId = partnerId })).Events;
        Assert.Equal(3, partnerEvents.Count);
        Assert.Equal(["PERMISSION_DENIED", "OK", "OK"], partnerEvents.Select(e => e.Outcome));
        Assert.Equal(member.MemberId, partnerEvents[2].MemberId);

        var memberEvents = (await Server.Admin.ListAuditEventsAsync(new ListAuditEventsRequest { MemberId = member.MemberId })).Events;
        Assert.Contains(memberEvents, e => e.Rpc == "/identity.v1.MemberService/UpdateProfile" && e.Outcome == "OK");
        Assert.Contains(memberEvents, e => e.Rpc == "/identity.v1.MemberService/EnrollMember");

        var all = await Server.Admin.ListAuditEventsAsync(new ListAuditEventsRequest { PageSize = 1000 });
        var text = all.ToString();
        Assert.DoesNotContain(phone, text, StringComparison.Ordinal);
        Assert.DoesNotContain(phone[3..], text, StringComparison.Ordinal);
        Assert.DoesNotContain(partnerKey, text, StringComparison.Ordinal);
    }
}
