namespace Identity.IntegrationTests.Infrastructure;

/// <summary>Tests that measure latency run alone, not beside the rest of the suite on a 2-core machine.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SerialCollection
{
    public const string Name = "Serial (latency-sensitive)";
}
