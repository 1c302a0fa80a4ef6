using BenchmarkDotNet.Attributes;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Identity.Service.Loyalty;
using Identity.V1;

namespace Identity.Benchmarks;

/// <summary>
/// The benefit quote for a member of each tier against parsing that member's protobuf snapshot, in the same run: the
/// quote is computed on every POS resolve, so it should cost no more than reading the cached snapshot does.
/// </summary>
[MemoryDiagnoser]
public class QuoteBenchmarks
{
    LoyaltyProgram program = null!;
    MemberSnapshot snapshot = null!;
    byte[] snapshotBytes = null!;
    QuoteContext context;

    [Params("regular", "silver", "gold", "black")]
    public string Tier { get; set; } = "";

    [GlobalSetup]
    public void Setup()
    {
        program = DefaultProgram.Load();
        var member = new Member
        {
            MemberId = "0193a5c2f3f47c7e9a1b2c3d4e5f6a7b", State = MemberState.Active, MaskedPhone = "138****5678", PhoneCountryCode = 86,
            Profile = new Profile { Name = "李雷", Gender = Gender.Male, Birthday = "1990-05-04" },
            Enrollment = new Touchpoint { Channel = Channel.Pos, StoreId = "S001", GuideId = "G007" },
            CreatedAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2024, 3, 1, 2, 0, 0, TimeSpan.Zero)),
            UpdatedAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 5, 6, 2, 0, 0, TimeSpan.Zero)),
            Version = 7,
        };
        member.ChannelIdentities.Add(new BoundChannelIdentity { Channel = Channel.WechatMiniProgram, ExternalId = "oMP_benchmark_openid_000000001", BoundAt = member.CreatedAt });
        var paid = program.Tiers.FirstOrDefault(t => t.Paid is not null);
        var growthTier = Tier == "black" ? program.Tiers.Last(t => t.Paid is null) : program.FindTier(Tier) ?? program.EntryTier;
        snapshot = new MemberSnapshot
        {
            Member = member, GrowthTierCode = growthTier.Code, Growth = growthTier.GrowthThreshold + 120, PointsBalance = 4_321,
            BirthdayMonth = 5, BirthdayDay = 4, LoyaltyVersion = 12,
            TierAssessmentAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2027, 3, 1, 0, 0, 0, TimeSpan.Zero)),
        };
        if (Tier == "black" && paid is not null)
        {
            snapshot.PaidTierCode = paid.Code;
            snapshot.PaidTierExpiresAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2027, 1, 1, 0, 0, 0, TimeSpan.Zero));
        }
        snapshotBytes = snapshot.ToByteArray();
        // A Wednesday in May (member day and birthday month): the busiest path through the rules.
        context = new QuoteContext(Channel.Pos, "S001", new DateTimeOffset(2026, 5, 6, 6, 0, 0, TimeSpan.Zero));
    }

    [Benchmark(Baseline = true, Description = "parse snapshot")]
    public MemberSnapshot ParseSnapshot() => MemberSnapshot.Parser.ParseFrom(snapshotBytes);

    [Benchmark(Description = "benefit quote")]
    public BenefitQuote Quote() => BenefitCalculator.Quote(program, snapshot, context);
}
