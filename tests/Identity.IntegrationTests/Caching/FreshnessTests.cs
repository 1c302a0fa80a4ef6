using Identity.Service.Caching;
using Identity.Service.Telemetry;

namespace Identity.IntegrationTests.Caching;

/// <summary>
/// A caller that saw its write acknowledged never reads an older version, however many loads of the same member are
/// under way (a shared load that began before the commit must not answer a read that began after it).
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class FreshnessTests : IAsyncLifetime
{
    RedisProcess redis = null!;
    IdentityServer server = null!;

    public async Task InitializeAsync()
    {
        redis = await RedisProcess.StartAsync();
        server = await IdentityServer.StartAsync(null, $"--Redis:Configuration={redis.Configuration}");
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        await redis.DisposeAsync();
    }

    [Fact]
    public async Task Ten_thousand_concurrent_update_then_resolve_pairs_never_read_an_older_version()
    {
        const int Workers = 24, Members = 6;
        // On PostgreSQL each write is several network round trips: 2,000 pairs keep its pass within minutes and still
        // race 24 workers over 6 members.
        var pairs = TestStore.IsPostgres ? 2_000 : 10_000;
        var members = new List<(string Id, string Phone)>();
        for (var i = 0; i < Members; i++)
        {
            var phone = TestData.Phone();
            members.Add(((await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone))).Member.MemberId, phone));
        }

        var next = -1;
        var stale = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Task.WhenAll(Enumerable.Range(0, Workers).Select(worker => Task.Run(async () =>
        {
            int pair;
            while ((pair = Interlocked.Increment(ref next)) < pairs)
            {
                var (id, phone) = members[pair % Members];
                var updated = await server.Members.UpdateProfileAsync(new UpdateProfileRequest
                {
                    MemberId = id, Profile = new Profile { Name = TestData.Names[pair % TestData.Names.Length] + pair },
                });
                // Half by id, half by phone (a lookup's shared load must not be older than the write either).
                var read = pair % 2 == 0
                    ? await server.Members.ResolveMemberAsync(new ResolveMemberRequest { MemberId = id })
                    : await server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone });
                if (read.Member.Version < updated.Member.Version)
                    stale.Add($"pair {pair}: wrote version {updated.Member.Version}, read {read.Member.Version}");
            }
        })));

        var counters = server.Metrics;
        Assert.True(stale.IsEmpty, $"{stale.Count} of {pairs} reads were older than the write before them: {string.Join("; ", stale.Take(5))} "
            + $"(store loads {counters.Sum(CacheMetrics.StoreLoads)}, L1 hits {counters.Sum(CacheMetrics.Reads, "level=l1", "result=hit")}, L2 hits {counters.Sum(CacheMetrics.Reads, "level=l2", "result=hit")})");
    }
}
