using System.Text;
using Grpc.Core;
using Identity.Service.Caching;
using Identity.Service.Phones;
using Identity.Service.Telemetry;
using StackExchange.Redis;

namespace Identity.IntegrationTests.Caching;

/// <summary>
/// Redis is untrusted: junk under any key the service reads is a miss (dropped, reloaded, replaced, counted) and never
/// an error; and nothing it stores there is readable.
/// </summary>
public sealed class CacheIntegrityTests : IAsyncLifetime
{
    RedisProcess redis = null!;
    ConnectionMultiplexer inspector = null!;
    IdentityServer server = null!;

    public async Task InitializeAsync()
    {
        redis = await RedisProcess.StartAsync();
        inspector = await ConnectionMultiplexer.ConnectAsync(redis.Configuration + ",allowAdmin=true");
        // No L1: every read goes to Redis, so whatever lies there is read. A long bound: an outbox read delayed on a loaded
        // machine would rightly make every key pending, and a read that skips Redis overwrites the junk unseen.
        server = await IdentityServer.StartAsync(null, $"--Redis:Configuration={redis.Configuration}", "--Identity:Cache:L1Enabled=false",
            "--Identity:Cache:InvalidationBoundMilliseconds=60000");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!server.Service<RedisCache>().IsConnected && DateTime.UtcNow < deadline)
            await Task.Delay(20);
    }

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        await inspector.DisposeAsync();
        await redis.DisposeAsync();
    }

    public enum KeyKind { Snapshot, Version, PhoneLookup, IdentityLookup }

    public enum Junk { Garbage, Truncated, Oversized, Empty, List, Hash, NotANumber }

    public static TheoryData<KeyKind, Junk> Cases()
    {
        var data = new TheoryData<KeyKind, Junk>();
        foreach (var kind in System.Enum.GetValues<KeyKind>())
            foreach (var junk in System.Enum.GetValues<Junk>())
                data.Add(kind, junk);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Junk_under_a_key_is_a_miss_that_heals_itself(KeyKind kind, Junk junk)
    {
        var phone = TestData.Phone();
        var openId = TestData.OpenId();
        var member = (await server.Members.EnrollMemberAsync(new EnrollMemberRequest
        {
            Phone = phone, ChannelIdentity = TestData.MiniProgram(openId), Source = TestData.Pos(), Profile = new Profile { Name = "王芳" },
        })).Member;
        await ResolveEveryWayAsync(member.MemberId, phone, openId);

        var names = server.Service<CacheKeys>();
        var prefix = server.Service<RedisCache>().KeyPrefix;
        var name = kind switch
        {
            KeyKind.Snapshot => names.Member(member.MemberId),
            KeyKind.Version => CacheKeys.VersionOf(names.Member(member.MemberId)),
            KeyKind.PhoneLookup => names.Phone(server.Service<PhoneProtector>().BlindIndex(Phone.FromE164("+86" + phone))),
            _ => names.Identity(new Identity.Service.Members.IdentityKey((int)Channel.WechatMiniProgram, openId)),
        };
        var db = inspector.GetDatabase();
        RedisKey key = prefix + name;
        // Reads skip Redis for a key until its write's invalidation is applied there: wait, so the reads below meet the junk.
        var outbox = server.Service<InvalidationOutbox>();
        for (var i = 0; i < 250 && (outbox.IsPending(name) || outbox.IsPending(names.Member(member.MemberId))); i++)
            await Task.Delay(20);
        // A read made while the key was still pending skipped Redis and cached nothing: read again until the value is there
        // (a cold, loaded machine can keep the enrolment's invalidation in flight past the first reads).
        var good = await WaitForValueAsync(db, key);
        for (var round = 0; round < 10 && !good.HasValue; round++)
        {
            await ResolveEveryWayAsync(member.MemberId, phone, openId);
            good = await WaitForValueAsync(db, key);
        }
        Assert.True(good.HasValue, $"{kind}: nothing was cached under the key before the test spoiled it");
        await SpoilAsync(db, key, (byte[])good!, junk);

        // Every read still answers, right.
        var junkBefore = server.Metrics.Sum(CacheMetrics.JunkDropped);
        await ResolveEveryWayAsync(member.MemberId, phone, openId);
        if (kind == KeyKind.Version)
        {
            // A version key that is not a number must not block invalidations.
            await server.Members.UpdateProfileAsync(new UpdateProfileRequest { MemberId = member.MemberId, Profile = new Profile { Name = "张伟" } });
            Assert.Equal("张伟", (await server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone })).Member.Profile.Name);
            Assert.Equal("张伟", (await server.Members.ResolveMemberAsync(new ResolveMemberRequest { MemberId = member.MemberId })).Member.Profile.Name);
            var version = await WaitForValueAsync(db, key);
            Assert.True(long.TryParse(version.ToString(), out _), $"{junk}: the version key holds {version}");
            return;
        }

        // The junk was dropped, counted, and replaced by a good value. A read that skipped Redis while an invalidation of
        // the key was still in flight (slower on PostgreSQL) meets the junk on a later round.
        for (var round = 0; round < 20 && server.Metrics.Sum(CacheMetrics.JunkDropped) <= junkBefore; round++)
        {
            await Task.Delay(100);
            await ResolveEveryWayAsync(member.MemberId, phone, openId);
        }
        Assert.True(server.Metrics.Sum(CacheMetrics.JunkDropped) > junkBefore, $"{kind}/{junk}: the junk was not counted");
        var healed = await WaitForValueAsync(db, key);
        Assert.True(healed.HasValue && await db.KeyTypeAsync(key) == RedisType.String, $"{kind}/{junk}: nothing good replaced the junk");
        var bytes = (byte[])healed!;
        var sealedPart = kind == KeyKind.Snapshot ? bytes : bytes.AsSpan(CacheKeys.TokenLength).ToArray();
        Assert.True(names.TryOpen(name, sealedPart, out _), $"{kind}/{junk}: the value now under the key is not one the service sealed");
    }

    async Task ResolveEveryWayAsync(string memberId, string phone, string openId)
    {
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(memberId, (await server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone })).Member.MemberId);
            Assert.Equal(memberId, (await server.Members.ResolveMemberAsync(new ResolveMemberRequest { MemberId = memberId })).Member.MemberId);
            Assert.Equal(memberId, (await server.Members.ResolveMemberAsync(new ResolveMemberRequest { ChannelIdentity = TestData.MiniProgram(openId) })).Member.MemberId);
        }
    }

    /// <summary>Lookups are written fire-and-forget: give them a moment to land.</summary>
    static async Task<RedisValue> WaitForValueAsync(IDatabase db, RedisKey key)
    {
        for (var i = 0; i < 50; i++)
        {
            if (await db.KeyTypeAsync(key) == RedisType.String && await db.StringGetAsync(key) is { HasValue: true } value && ((byte[])value!).Length > 0)
                return value;
            await Task.Delay(20);
        }
        return RedisValue.Null;
    }

    static async Task SpoilAsync(IDatabase db, RedisKey key, byte[] good, Junk junk)
    {
        await db.KeyDeleteAsync(key);
        switch (junk)
        {
            case Junk.Garbage:
                await db.StringSetAsync(key, Enumerable.Range(0, 300).Select(i => (byte)(i * 7)).ToArray());
                break;
            case Junk.Truncated:
                await db.StringSetAsync(key, good[..(good.Length / 2)]);
                break;
            case Junk.Oversized:
                await db.StringSetAsync(key, new byte[8 * 1024 * 1024]);
                break;
            case Junk.Empty:
                await db.StringSetAsync(key, Array.Empty<byte>());
                break;
            case Junk.List:
                await db.ListRightPushAsync(key, "x");
                break;
            case Junk.Hash:
                await db.HashSetAsync(key, "x", "y");
                break;
            case Junk.NotANumber:
                await db.StringSetAsync(key, "not-a-number");
                break;
        }
    }

    [Fact]
    public async Task Nothing_in_redis_is_readable()
    {
        var secrets = new List<string>();
        var memberIds = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            var phone = TestData.Phone();
            var openId = TestData.OpenId();
            var unionId = "u" + Guid.NewGuid().ToString("N")[..27];
            var name = TestData.Names[i % TestData.Names.Length];
            secrets.AddRange([phone, phone[3..], openId, unionId, name]);
            var member = (await server.Members.EnrollMemberAsync(new EnrollMemberRequest
            {
                Phone = phone, ChannelIdentity = TestData.MiniProgram(openId, unionId), Source = TestData.Pos(),
                Profile = new Profile { Name = name, Birthday = "1990-05-04" },
            })).Member;
            memberIds.Add(member.MemberId);
            await server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone, BenefitContext = new BenefitContext { Channel = Channel.Pos } });
            await server.Members.ResolveMemberAsync(new ResolveMemberRequest { ChannelIdentity = TestData.MiniProgram(openId) });
            await server.Members.ResolveMemberAsync(new ResolveMemberRequest { MemberId = member.MemberId });
            await Rpc.FailsWith(StatusCode.NotFound, server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = TestData.Phone() }));
        }
        secrets.AddRange(memberIds);
        secrets.Add("1990-05-04");
        await Task.Delay(200); // fire-and-forget writes land

        var db = inspector.GetDatabase();
        var serverEndpoint = inspector.GetServer(inspector.GetEndPoints()[0]);
        var found = new List<string>();
        var keys = 0;
        await foreach (var key in serverEndpoint.KeysAsync(pattern: "*"))
        {
            keys++;
            var value = await db.KeyTypeAsync(key) == RedisType.String ? (byte[]?)await db.StringGetAsync(key) ?? [] : [];
            var keyText = key.ToString();
            var valueText = Encoding.UTF8.GetString(value);
            foreach (var secret in secrets)
                if (keyText.Contains(secret, StringComparison.Ordinal) || valueText.Contains(secret, StringComparison.Ordinal))
                    found.Add($"{keyText} carries {secret[..3]}…");
        }
        Assert.True(keys >= 30, $"only {keys} keys in Redis: the traffic did not reach it");
        Assert.Empty(found);
    }
}
