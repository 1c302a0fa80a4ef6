using Grpc.Core;
using Identity.Service.Errors;
using Identity.Service.Members;
using Identity.Service.Storage;

namespace Identity.UnitTests.Members;

public sealed class MergePlannerTests
{
    static readonly byte[] SurvivorPhone = [1, 1, 1];
    static readonly byte[] AbsorbedPhone = [2, 2, 2];

    static MemberRecord Member(string id, byte[]? phoneIndex = null, string? name = null, int gender = 0, string? birthday = null,
        params (int Channel, string ExternalId)[] identities) =>
        new()
        {
            Id = id,
            PhoneIndex = phoneIndex,
            PhoneCiphertext = phoneIndex is null ? null : [9, 9, 9],
            Name = name,
            Gender = gender,
            Birthday = birthday,
            Identities = identities.Select(i => new ChannelIdentityRecord { Channel = i.Channel, ExternalId = i.ExternalId, MemberId = id }).ToList(),
        };

    [Fact]
    public void Every_identity_of_the_absorbed_member_moves_ordered_by_channel_then_id()
    {
        var survivor = Member("m-1", SurvivorPhone, identities: (1, "POS-1"));
        var absorbed = Member("m-2", identities: [(6, "app-7"), (2, "o-b"), (5, "u-1"), (2, "o-a"), (2, "o-B")]);

        var plan = MergePlanner.Plan(survivor, absorbed, MergeKind.Operator);

        Assert.Equal(
            [new IdentityKey(2, "o-B"), new IdentityKey(2, "o-a"), new IdentityKey(2, "o-b"), new IdentityKey(5, "u-1"), new IdentityKey(6, "app-7")],
            plan.MovedIdentities);
    }

    [Fact]
    public void An_absorbed_member_without_identities_moves_none()
    {
        var plan = MergePlanner.Plan(Member("m-1"), Member("m-2"), MergeKind.Operator);

        Assert.Empty(plan.MovedIdentities);
        Assert.Empty(plan.FilledFields);
        Assert.False(plan.MovesPhone);
    }

    [Fact]
    public void The_absorbed_profile_fills_every_gap_of_the_survivor()
    {
        var survivor = Member("m-1", SurvivorPhone);
        var absorbed = Member("m-2", name: "韩梅梅", gender: 1, birthday: "1992-03-08");

        var plan = MergePlanner.Plan(survivor, absorbed, MergeKind.Operator);

        Assert.Equal([MergePlanner.NameField, MergePlanner.GenderField, MergePlanner.BirthdayField], plan.FilledFields);
    }

    [Fact]
    public void The_survivor_keeps_its_own_profile_values()
    {
        var survivor = Member("m-1", SurvivorPhone, name: "李雷", gender: 2, birthday: "1990-05-04");
        var absorbed = Member("m-2", name: "Li Lei", gender: 3, birthday: "--05-04");

        var plan = MergePlanner.Plan(survivor, absorbed, MergeKind.Operator);

        Assert.Empty(plan.FilledFields);
    }

    [Fact]
    public void Only_the_fields_the_survivor_lacks_are_filled()
    {
        var survivor = Member("m-1", SurvivorPhone, name: "李雷", gender: 0, birthday: null);
        var absorbed = Member("m-2", name: "Li Lei", gender: 2, birthday: null);

        var plan = MergePlanner.Plan(survivor, absorbed, MergeKind.Operator);

        Assert.Equal([MergePlanner.GenderField], plan.FilledFields);
    }

    [Fact]
    public void The_phone_moves_when_the_survivor_has_none()
    {
        var plan = MergePlanner.Plan(Member("m-1"), Member("m-2", AbsorbedPhone), MergeKind.Operator);

        Assert.True(plan.MovesPhone);
        Assert.Contains(MergePlanner.PhoneField, plan.FilledFields);
    }

    [Fact]
    public void The_survivor_keeps_its_own_phone()
    {
        var plan = MergePlanner.Plan(Member("m-1", SurvivorPhone), Member("m-2", AbsorbedPhone), MergeKind.Operator);

        Assert.False(plan.MovesPhone);
        Assert.DoesNotContain(MergePlanner.PhoneField, plan.FilledFields);
    }

    [Fact]
    public void A_phone_proof_merge_absorbs_a_phoneless_member()
    {
        var plan = MergePlanner.Plan(Member("m-1", SurvivorPhone), Member("m-2", identities: (2, "o-1")), MergeKind.PhoneProof);

        Assert.Equal([new IdentityKey(2, "o-1")], plan.MovedIdentities);
        Assert.False(plan.MovesPhone);
    }

    [Fact]
    public void A_phone_proof_merge_cannot_absorb_a_member_with_a_phone()
    {
        var error = Assert.Throws<IdentityException>(() =>
            MergePlanner.Plan(Member("m-1", SurvivorPhone), Member("m-2", AbsorbedPhone), MergeKind.PhoneProof));

        Assert.Equal(StatusCode.FailedPrecondition, error.Code);
        Assert.Equal(ErrorReasons.PhoneBelongsToAnotherMember, error.Reason);
    }

    [Fact]
    public void A_member_cannot_be_merged_into_itself()
    {
        var member = Member("m-1", SurvivorPhone);

        var error = Assert.Throws<IdentityException>(() => MergePlanner.Plan(member, Member("m-1"), MergeKind.Operator));

        Assert.Equal(StatusCode.InvalidArgument, error.Code);
        Assert.Equal("absorbed_member_id", Assert.Single(error.Violations).Field);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_merged_member_cannot_take_part_in_a_merge(bool asSurvivor)
    {
        var merged = Member("m-9");
        merged.State = MemberRowState.Merged;
        merged.MergedIntoId = "m-3";
        var active = Member("m-1", SurvivorPhone);

        var error = Assert.Throws<IdentityException>(() => asSurvivor
            ? MergePlanner.Plan(merged, active, MergeKind.Operator)
            : MergePlanner.Plan(active, merged, MergeKind.Operator));

        Assert.Equal(StatusCode.FailedPrecondition, error.Code);
        Assert.Equal(ErrorReasons.MemberAlreadyMerged, error.Reason);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void An_erased_member_cannot_take_part_in_a_merge(bool asSurvivor)
    {
        var erased = Member("m-9");
        erased.State = MemberRowState.Erased;
        var active = Member("m-1", SurvivorPhone);

        var error = Assert.Throws<IdentityException>(() => asSurvivor
            ? MergePlanner.Plan(erased, active, MergeKind.Operator)
            : MergePlanner.Plan(active, erased, MergeKind.Operator));

        Assert.Equal(StatusCode.NotFound, error.Code);
        Assert.Equal(ErrorReasons.MemberErased, error.Reason);
    }
}
