using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Identity.IntegrationTests.Scaling;

/// <summary>
/// Every guarantee holds across instances: three servers on one PostgreSQL database and one Redis, calls spread over
/// them, and no process-local lock can help (each instance has its own).
/// </summary>
public sealed class CrossInstanceTests(InstancesFixture fixture) : IClassFixture<InstancesFixture>
{
    IdentityServer On(int i) => fixture.Servers[i % fixture.Servers.Count];

    static readonly Timestamp PaidAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-1));

    async Task<string> NewMemberAsync() => (await On(0).Members.EnrollMemberAsync(TestData.EnrollAtPos(TestData.Phone()))).Member.MemberId;

    [PostgresFact]
    public async Task Fifty_enrolments_of_one_phone_over_three_instances_make_one_member()
    {
        var phone = TestData.Phone();
        var before = On(0).Count("members");
        using var start = new ManualResetEventSlim();
        var calls = Enumerable.Range(0, 50).Select(i => Task.Run(async () =>
        {
            start.Wait();
            return await On(i).Members.EnrollMemberAsync(new EnrollMemberRequest { Phone = i % 2 == 0 ? phone : "+86 " + phone, Source = TestData.Pos($"S{i:D3}") });
        })).ToList();
        start.Set();
        var responses = await Task.WhenAll(calls);

        Assert.Single(responses.Select(r => r.Member.MemberId).Distinct());
        Assert.Single(responses, r => r.Created);
        Assert.Equal(before + 1, On(0).Count("members"));
    }

    [PostgresFact]
    public async Task Concurrent_enrolments_of_one_new_phone_with_one_openid_over_three_instances_all_answer_the_one_member()
    {
        // A rival's commit can land between an enrolment's read of the phone and its read of the openid: the openid's owner
        // then has this very phone, and the enrolment must answer that member, not refuse the openid as another's.
        for (var round = 0; round < 8; round++)
        {
            var phone = TestData.Phone();
            var openId = TestData.OpenId();
            using var start = new ManualResetEventSlim();
            var calls = Enumerable.Range(0, 12).Select(i => Task.Run(async () =>
            {
                start.Wait();
                return await On(i).Members.EnrollMemberAsync(new EnrollMemberRequest
                {
                    Phone = phone, ChannelIdentity = new ChannelIdentity { Channel = Channel.WechatMiniProgram, ExternalId = openId },
                    Source = TestData.MiniProgramSource(),
                });
            })).ToList();
            start.Set();
            var responses = await Task.WhenAll(calls);

            Assert.Single(responses.Select(r => r.Member.MemberId).Distinct());
            Assert.Single(responses, r => r.Created);
        }
        // The races lost on the phone's unique index are run again and answered: no instance logs them as errors.
        Assert.DoesNotContain(fixture.Servers.SelectMany(s => s.Logs.Lines),
            line => line.StartsWith("Error ", StringComparison.Ordinal) || line.StartsWith("Critical ", StringComparison.Ordinal));
    }

    [PostgresFact]
    public async Task Five_hundred_duplicate_orders_over_three_instances_make_one_ledger_entry()
    {
        var memberId = await NewMemberAsync();
        var request = new RecordOrderRequest
        {
            Member = new MemberKey { MemberId = memberId }, Channel = Channel.Pos, OrderId = "O-" + Guid.NewGuid().ToString("N"), StoreId = "S001",
            AmountFen = 29_900, PaidAt = PaidAt,
        };

        var responses = await Task.WhenAll(Enumerable.Range(0, 500).Select(i => On(i).Loyalty.RecordOrderAsync(request).ResponseAsync));

        var first = Assert.Single(responses, r => !r.Replayed);
        Assert.All(responses, r => Assert.Equal(first.PointsEarned, r.PointsEarned));
        var entries = await On(2).Loyalty.ListPointsEntriesAsync(new ListPointsEntriesRequest { Member = new MemberKey { MemberId = memberId } });
        Assert.Single(entries.Entries);
        Assert.Equal(first.PointsEarned,
            (await On(1).Loyalty.GetPointsAccountAsync(new GetPointsAccountRequest { Member = new MemberKey { MemberId = memberId } })).Balance);
        Assert.Empty((await On(0).Loyalty.VerifyLedgerAsync(new VerifyLedgerRequest())).Problems);
    }

    [PostgresFact]
    public async Task Thirty_concurrent_redemptions_over_three_instances_never_overdraw()
    {
        var memberId = await NewMemberAsync();
        await On(0).Loyalty.AdjustPointsAsync(new AdjustPointsRequest
        {
            Member = new MemberKey { MemberId = memberId }, RequestId = Guid.NewGuid().ToString(), Points = 1_000, Reason = "welcome", Operator = "ops",
        });

        // 30 redemptions of 70 points (2,100 in all) against 1,000: exactly 14 fit.
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 30).Select(async i =>
        {
            try
            {
                await On(i).Loyalty.RedeemPointsAsync(new RedeemPointsRequest
                {
                    Member = new MemberKey { MemberId = memberId }, RequestId = $"R-{i}", Points = 70, Reason = "gift",
                });
                return StatusCode.OK;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition && e.Reason() == "INSUFFICIENT_POINTS")
            {
                return e.StatusCode;
            }
        }));

        Assert.Equal(14, outcomes.Count(o => o == StatusCode.OK));
        var account = await On(2).Loyalty.GetPointsAccountAsync(new GetPointsAccountRequest { Member = new MemberKey { MemberId = memberId } });
        Assert.Equal(1_000 - 14 * 70, account.Balance);
        Assert.Empty((await On(1).Loyalty.VerifyLedgerAsync(new VerifyLedgerRequest())).Problems);
    }

    [PostgresFact]
    public async Task Concurrent_binds_of_one_openid_over_three_instances_have_one_winner()
    {
        var candidates = new List<string>();
        for (var i = 0; i < 12; i++)
            candidates.Add(await NewMemberAsync());
        var openId = TestData.OpenId();

        var outcomes = await Task.WhenAll(candidates.Select(async (memberId, i) =>
        {
            try
            {
                await On(i).Members.BindChannelIdentityAsync(new BindChannelIdentityRequest { MemberId = memberId, ChannelIdentity = TestData.MiniProgram(openId) });
                return memberId;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
            {
                return null;
            }
        }));

        var winner = Assert.Single(outcomes, o => o is not null);
        foreach (var i in Enumerable.Range(0, 3))
        {
            var owner = await On(i).Members.ResolveMemberAsync(new ResolveMemberRequest { ChannelIdentity = TestData.MiniProgram(openId) });
            Assert.Equal(winner, owner.Member.MemberId);
        }
    }

    [PostgresFact]
    public async Task Concurrent_merges_of_one_fan_over_three_instances_absorb_it_once()
    {
        var openId = TestData.OpenId();
        var fan = (await On(0).Members.EnrollMemberAsync(TestData.EnrollFan(openId))).Member.MemberId;
        var survivors = new List<string>();
        for (var i = 0; i < 6; i++)
            survivors.Add(await NewMemberAsync());

        var outcomes = await Task.WhenAll(survivors.Select(async (survivor, i) =>
        {
            try
            {
                var merged = await On(i).Members.MergeMembersAsync(new MergeMembersRequest
                {
                    SurvivorMemberId = survivor, AbsorbedMemberId = fan, Reason = "same person", Operator = "ops",
                });
                return merged.Member.MemberId;
            }
            catch (RpcException e) when (e.StatusCode is StatusCode.FailedPrecondition or StatusCode.NotFound)
            {
                return null;
            }
        }));

        var survivor = Assert.Single(outcomes, o => o is not null);
        var history = await On(2).Members.GetMergeHistoryAsync(new GetMergeHistoryRequest { MemberId = survivor });
        Assert.Single(history.Merges, m => m.AbsorbedMemberId == fan);
        foreach (var i in Enumerable.Range(0, 3))
        {
            var resolved = await On(i).Members.ResolveMemberAsync(new ResolveMemberRequest { ChannelIdentity = TestData.MiniProgram(openId) });
            Assert.Equal(survivor, resolved.Member.MemberId);
        }
    }

    [PostgresFact]
    public async Task Concurrent_program_publishes_over_three_instances_make_one_version_that_every_instance_uses()
    {
        var current = await On(0).Loyalty.GetProgramAsync(new GetProgramRequest());
        var variants = Enumerable.Range(2, 3)
            .Select(rate => current.ProgramJson.Replace("\"perYuan\": 1,", $"\"perYuan\": {rate},", StringComparison.Ordinal)).ToList();
        Assert.All(variants, v => Assert.NotEqual(current.ProgramJson, v));

        var outcomes = await Task.WhenAll(variants.Select(async (json, i) =>
        {
            try
            {
                return (await On(i).Loyalty.PublishProgramAsync(new PublishProgramRequest { ProgramJson = json, ExpectedVersion = current.Version })).Version;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition && e.Reason() == "PROGRAM_VERSION_MISMATCH")
            {
                return 0;
            }
        }));

        Assert.Equal(current.Version + 1, Assert.Single(outcomes, v => v != 0));
        var winner = variants[Array.FindIndex(outcomes, v => v != 0)];
        // Every instance picks the published program up within its refresh interval (1 s here).
        foreach (var i in Enumerable.Range(0, 3))
            await Eventually(async () =>
            {
                var program = await On(i).Loyalty.GetProgramAsync(new GetProgramRequest());
                return program.Version == current.Version + 1 && program.ProgramJson == winner;
            });
    }

    [PostgresFact]
    public async Task A_write_through_one_instance_reaches_the_caches_of_the_others()
    {
        var phone = TestData.Phone();
        var memberId = (await On(0).Members.EnrollMemberAsync(TestData.EnrollAtPos(phone))).Member.MemberId;
        // The other instances hold the member in their in-process caches.
        var before = await On(1).Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone });
        await On(2).Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone });

        await On(0).Members.UpdateProfileAsync(new UpdateProfileRequest { MemberId = memberId, Profile = new Profile { Name = "韩梅梅" } });

        foreach (var i in new[] { 1, 2 })
            await Eventually(async () =>
            {
                var now = (await On(i).Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone })).Member;
                return now.Version > before.Member.Version && now.Profile.Name == "韩梅梅";
            });
    }

    [PostgresFact]
    public async Task A_client_created_or_revoked_through_one_instance_is_known_to_the_others()
    {
        var created = await On(0).Admin.CreateClientAsync(new CreateClientRequest { Name = "pos-" + Guid.NewGuid().ToString("N")[..6], Role = ClientRole.Pos });
        LogCapture.Keys.Add(created.Key);
        var phone = TestData.Phone();
        await On(0).Members.EnrollMemberAsync(TestData.EnrollAtPos(phone));

        // A key created a moment ago through another instance is found (an unknown key reloads the registry).
        await Eventually(async () =>
        {
            try
            {
                await On(1).MembersAs(created.Key).ResolveMemberAsync(new ResolveMemberRequest { Phone = phone });
                return true;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unauthenticated)
            {
                return false;
            }
        });

        await On(0).Admin.RevokeClientAsync(new RevokeClientRequest { ClientId = created.Client.ClientId });
        await Eventually(async () =>
        {
            try
            {
                await On(2).MembersAs(created.Key).ResolveMemberAsync(new ResolveMemberRequest { Phone = phone });
                return false;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unauthenticated)
            {
                return true;
            }
        }, TimeSpan.FromSeconds(10));
    }

    static async Task Eventually(Func<Task<bool>> condition, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(5));
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The other instances did not catch up in time.");
            await Task.Delay(50);
        }
    }
}
