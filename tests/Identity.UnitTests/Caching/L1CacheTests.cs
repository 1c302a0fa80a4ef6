using Identity.Service.Caching;
using Microsoft.Extensions.Options;

namespace Identity.UnitTests.Caching;

/// <summary>
/// A write's fresh value replaces the cached one only when nothing invalidated the key since the write began: a write
/// that committed later (its invalidation seen first) must never be overwritten by an older one.
/// </summary>
public sealed class L1CacheTests : IDisposable
{
    readonly L1Cache l1 = new(Options.Create(new CacheOptions { InvalidationBoundMilliseconds = 60_000 }));

    public L1CacheTests() => l1.Synced(Environment.TickCount64);

    public void Dispose() => l1.Dispose();

    string? Held(string key) => l1.TryGet<string>(key, out var value) ? value : null;

    [Fact]
    public void A_fresh_value_replaces_the_cached_one_when_nothing_invalidated_the_key_since_the_write_began()
    {
        l1.Set("m:1", "old", l1.Sequence);
        var began = l1.Sequence;
        l1.Replace("m:1", "new", began);
        Assert.Equal("new", Held("m:1"));
    }

    [Fact]
    public void A_fresh_value_is_not_kept_when_a_later_write_invalidated_the_key_first()
    {
        var olderBegan = l1.Sequence;
        var newerBegan = l1.Sequence;
        // The newer write's acknowledgement ran first: it replaced the value; the older one arrives after.
        l1.Replace("m:1", "newer", newerBegan);
        l1.Replace("m:1", "older", olderBegan);
        Assert.Null(Held("m:1"));

        // An invalidation that came through Redis or the outbox counts the same.
        var began = l1.Sequence;
        l1.Invalidate("m:2");
        l1.Replace("m:2", "stale", began);
        Assert.Null(Held("m:2"));
    }

    [Fact]
    public void An_invalidation_after_the_replacement_drops_it_and_a_clear_drops_everything()
    {
        l1.Replace("m:1", "fresh", l1.Sequence);
        l1.Invalidate("m:1");
        Assert.Null(Held("m:1"));

        var began = l1.Sequence;
        l1.Clear();
        l1.Replace("m:2", "from before the clear", began);
        Assert.Null(Held("m:2"));
    }

    [Fact]
    public void A_load_that_began_before_a_replacement_does_not_put_its_older_value_back()
    {
        var loadBegan = l1.Sequence;
        l1.Replace("m:1", "fresh", l1.Sequence);
        l1.Set("m:1", "loaded before the write", loadBegan);
        Assert.Equal("fresh", Held("m:1"));
    }
}
