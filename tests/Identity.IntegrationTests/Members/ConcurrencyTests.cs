using Grpc.Core;

namespace Identity.IntegrationTests.Members;

/// <summary>Concurrent callers never create a duplicate member or a second owner of an identity.</summary>
public sealed class ConcurrencyTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    readonly MemberService.MemberServiceClient members = fixture.Server.Members;

    [Fact]
    public async Task Fifty_concurrent_enrolments_of_one_phone_in_different_forms_make_exactly_one_member()
    {
        var phone = TestData.Phone();
        string[] forms =
        [
            phone, $"+86{phone}", $"+86 {phone[..3]} {phone[3..7]} {phone[7..]}", $"0086-{phone}", TestData.CrmForm(phone),
            TestData.FullWidthForm(phone), $"86{phone}", $"({phone[..3]}) {phone[3..7]}-{phone[7..]}", $"{phone[..3]}.{phone[3..7]}.{phone[7..]}",
            $"\u3000{phone}\u3000",
        ];
        var before = fixture.Server.Count("members");

        using var start = new ManualResetEventSlim();
        var calls = Enumerable.Range(0, 50).Select(i => Task.Run(async () =>
        {
            start.Wait();
            return await members.EnrollMemberAsync(new EnrollMemberRequest { Phone = forms[i % forms.Length], Source = TestData.Pos($"S{i:D3}") });
        })).ToList();
        start.Set();
        EnrollMemberResponse[] responses;
        try
        {
            responses = await Task.WhenAll(calls);
        }
        catch (RpcException e)
        {
            // Say what the server hit, not only "Internal error.".
            var errors = fixture.Server.Logs.Lines.Where(l => l.StartsWith("Error", StringComparison.Ordinal)).Take(3);
            throw new InvalidOperationException($"{e.Status}: {string.Join("\n", errors)}", e);
        }

        Assert.Single(responses.Select(r => r.Member.MemberId).Distinct());
        Assert.Single(responses, r => r.Created);
        Assert.Equal(before + 1, fixture.Server.Count("members"));
    }

    [Fact]
    public async Task Twenty_concurrent_binds_of_one_openid_to_different_members_have_exactly_one_winner()
    {
        var candidates = new List<string>();
        for (var i = 0; i < 20; i++)
            candidates.Add((await members.EnrollMemberAsync(TestData.EnrollAtPos(TestData.Phone()))).Member.MemberId);
        var openId = TestData.OpenId();

        using var start = new ManualResetEventSlim();
        var calls = candidates.Select(memberId => Task.Run(async () =>
        {
            start.Wait();
            try
            {
                await members.BindChannelIdentityAsync(new BindChannelIdentityRequest { MemberId = memberId, ChannelIdentity = TestData.MiniProgram(openId) });
                return (memberId, StatusCode.OK);
            }
            catch (RpcException e)
            {
                return (memberId, e.StatusCode);
            }
        })).ToList();
        start.Set();
        var outcomes = await Task.WhenAll(calls);

        var winner = Assert.Single(outcomes, o => o.Item2 == StatusCode.OK);
        Assert.Equal(19, outcomes.Count(o => o.Item2 == StatusCode.FailedPrecondition));
        var owner = await members.ResolveMemberAsync(new ResolveMemberRequest { ChannelIdentity = TestData.MiniProgram(openId) });
        Assert.Equal(winner.memberId, owner.Member.MemberId);
    }

    [Fact]
    public async Task Concurrent_fan_enrolments_with_one_openid_make_one_member()
    {
        var openId = TestData.OpenId();
        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ =>
            members.EnrollMemberAsync(TestData.EnrollFan(openId)).ResponseAsync));

        Assert.Single(responses.Select(r => r.Member.MemberId).Distinct());
        Assert.Single(responses, r => r.Created);
    }
}
