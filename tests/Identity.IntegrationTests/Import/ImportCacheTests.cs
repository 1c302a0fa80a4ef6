using Grpc.Core;
using Identity.Service.Caching;
using Microsoft.Extensions.Options;

namespace Identity.IntegrationTests.Import;

/// <summary>
/// An import's new members are found at once through phones and identities that were just looked up and remembered
/// as unknown: on the instance that imported them immediately, on another instance sharing Redis and the store within
/// the invalidation bound.
/// </summary>
public sealed class ImportCacheTests : RedisServers
{
    [Fact]
    public async Task Phones_and_identities_remembered_as_unknown_find_the_imported_members()
    {
        var a = await StartAsync();
        var b = await StartAsync(a.DataDirectory);
        var phone = TestData.Phone();
        var openId = "o-" + Guid.NewGuid().ToString("N");
        var card = "card-" + Guid.NewGuid().ToString("N")[..12];
        var byPhone = new ResolveMemberRequest { Phone = phone };
        var byOpenId = new ResolveMemberRequest { ChannelIdentity = new ChannelIdentity { Channel = Channel.WechatMiniProgram, ExternalId = openId } };
        var byCard = new ResolveMemberRequest { ChannelIdentity = new ChannelIdentity { Channel = Channel.Pos, ExternalId = card } };
        ResolveMemberRequest[] lookups = [byPhone, byOpenId, byCard];

        // Both instances look the keys up (twice: the second answer comes from the negative entries, L1 and Redis).
        foreach (var server in new[] { a, b })
        foreach (var request in lookups.Concat(lookups))
            Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(() => server.Members.ResolveMemberAsync(request).ResponseAsync)).StatusCode);
        Assert.True(a.Metrics.Sum(Identity.Service.Telemetry.CacheMetrics.Reads, "level=l1", "result=hit") > 0
                    || a.Metrics.Sum(Identity.Service.Telemetry.CacheMetrics.Reads, "level=l2", "result=hit") > 0, "the unknown keys were not cached");

        // One member with a phone and an openid, another with only a POS card.
        var replies = await ImportStream.RunAsync(a.WithKey(a.TestKey), new ImportHeader { ImportId = "neg-" + Guid.NewGuid().ToString("N")[..8], Source = "crm" },
        [[
            new ImportRow { RowNumber = 1, SourceRowKey = "r1", Phone = phone, Channel = Channel.WechatMiniProgram, ExternalId = openId, Name = "李雷" },
            new ImportRow { RowNumber = 2, SourceRowKey = "r2", Channel = Channel.Pos, ExternalId = card, Name = "韩梅梅" },
        ]]);
        var acknowledged = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(2, replies[^1].Totals.Created);

        // The importing instance: at once.
        var member = (await a.Members.ResolveMemberAsync(byPhone)).Member;
        Assert.Equal(member.MemberId, (await a.Members.ResolveMemberAsync(byOpenId)).Member.MemberId);
        var cardMember = (await a.Members.ResolveMemberAsync(byCard)).Member;
        Assert.NotEqual(member.MemberId, cardMember.MemberId);

        // The other instance: within the invalidation bound. A call sent once the bound has passed must find the member;
        // one sent before it may still say unknown, and is sent again. (A call's own time on a loaded machine is not the
        // cache's: what counts is when it was sent.)
        var bound = b.Service<IOptions<CacheOptions>>().Value.InvalidationBoundMilliseconds;
        foreach (var (request, expected) in new[] { (byPhone, member.MemberId), (byOpenId, member.MemberId), (byCard, cardMember.MemberId) })
        {
            while (true)
            {
                var sent = acknowledged.ElapsedMilliseconds;
                try
                {
                    Assert.Equal(expected, (await b.Members.ResolveMemberAsync(request)).Member.MemberId);
                    break;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
                {
                    Assert.True(sent <= bound, $"the other instance still did not know the member in a call sent {sent} ms after the import was acknowledged");
                    await Task.Delay(10);
                }
            }
        }
    }
}
