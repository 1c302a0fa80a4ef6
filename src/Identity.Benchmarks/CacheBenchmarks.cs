using System.Buffers;
using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Identity.Service.Caching;
using Identity.V1;
using Microsoft.Extensions.Caching.Hybrid;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Identity.Benchmarks;

/// <summary>
/// An L1 hit for a member snapshot: the service's own L1 against HybridCache's in-process level (with a protobuf
/// serializer), in the same run. HybridCache keeps a mutable type's L1 copy as bytes and deserializes it on every hit;
/// the service's L1 hands out the immutable-by-convention snapshot itself.
/// </summary>
[MemoryDiagnoser]
public class CacheBenchmarks
{
    const string Key = "identity:v1:m:0193a5c2f3f47c7e9a1b2c3d4e5f6a7b";
    L1Cache l1 = null!;
    HybridCache hybrid = null!;
    MemberSnapshot snapshot = null!;

    [GlobalSetup]
    public async Task Setup()
    {
        snapshot = new MemberSnapshot
        {
            Member = new Member
            {
                MemberId = "0193a5c2f3f47c7e9a1b2c3d4e5f6a7b", State = MemberState.Active, MaskedPhone = "138****5678", PhoneCountryCode = 86,
                Profile = new Profile { Name = "李雷", Gender = Gender.Male, Birthday = "1990-05-04" }, Version = 7,
            },
            GrowthTierCode = "gold", Growth = 5120, PointsBalance = 4321, BirthdayMonth = 5, BirthdayDay = 4,
        };
        // No outbox reader here: the entry stays servable for the whole run.
        l1 = new L1Cache(Options.Create(new CacheOptions { InvalidationBoundMilliseconds = int.MaxValue }));
        l1.Synced(Environment.TickCount64);
        l1.Set(Key, snapshot, l1.Sequence);

        var services = new ServiceCollection();
        services.AddHybridCache().AddSerializer<MemberSnapshot, ProtobufSerializer>();
        hybrid = services.BuildServiceProvider().GetRequiredService<HybridCache>();
        await hybrid.SetAsync(Key, snapshot);
    }

    [Benchmark(Baseline = true, Description = "service L1 hit")]
    public MemberSnapshot? OwnL1() => l1.TryGet<MemberSnapshot>(Key, out var value) ? value : null;

    [Benchmark(Description = "HybridCache L1 hit")]
    public ValueTask<MemberSnapshot> Hybrid() => hybrid.GetOrCreateAsync(Key, _ => ValueTask.FromResult(snapshot));

    sealed class ProtobufSerializer : IHybridCacheSerializer<MemberSnapshot>
    {
        public MemberSnapshot Deserialize(ReadOnlySequence<byte> source) => MemberSnapshot.Parser.ParseFrom(source);

        public void Serialize(MemberSnapshot value, IBufferWriter<byte> target) => value.WriteTo(target);
    }
}
