using Identity.Service.Caching;

namespace Identity.UnitTests.Caching;

/// <summary>
/// A bulk write packs its cache keys into few outbox rows. Every key must come back out of them with its snapshot
/// version, and a row written by an ordinary write (one key, its version in its own column) must read as before.
/// </summary>
public sealed class OutboxKeysTests
{
    static KeyValuePair<string, long> Entry(string key, long version) => KeyValuePair.Create(key, version);

    [Fact]
    public void Packed_rows_give_back_every_key_with_its_version()
    {
        var entries = Enumerable.Range(0, OutboxKeys.MaxPerRow * 2 + 3)
            .Select(i => i % 3 == 0 ? Entry($"m:token-{i}_A", i + 1) : Entry($"{(i % 2 == 0 ? 'p' : 'i')}:token-{i}_B", 0))
            .ToList();

        var rows = OutboxKeys.Pack(entries).ToList();

        Assert.Equal(3, rows.Count);
        Assert.Equal(entries, rows.SelectMany(row => OutboxKeys.Unpack(row, 0)));
        Assert.Equal(entries.Select(e => e.Key), rows.SelectMany(OutboxKeys.Keys));
    }

    [Fact]
    public void A_row_of_one_key_keeps_the_version_of_its_column()
    {
        Assert.Equal([Entry("m:abc-_9", 42)], OutboxKeys.Unpack("m:abc-_9", 42));
        Assert.Equal(["p:xyz"], OutboxKeys.Keys("p:xyz"));
    }

    [Fact]
    public void A_packed_row_of_one_snapshot_key_carries_its_version_in_the_row()
    {
        var row = Assert.Single(OutboxKeys.Pack([Entry("m:abc", 7)]));

        Assert.Equal([Entry("m:abc", 7)], OutboxKeys.Unpack(row, 0));
        Assert.Equal(["m:abc"], OutboxKeys.Keys(row));
    }

    [Fact]
    public void Nothing_to_pack_writes_no_row() => Assert.Empty(OutboxKeys.Pack([]));
}
