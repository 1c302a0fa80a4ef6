using System.Diagnostics;

namespace Identity.Service.Telemetry;

/// <summary>
/// The service's own spans. They explain where a resolve spent its time: <c>identity.cache.l2</c> (a Redis read, with
/// the Redis command beneath it) and <c>identity.cache.load</c> (a store load, with its SQL commands beneath it). An L1
/// hit gets no span: it costs less than one would. With no trace exporter configured nobody listens, and starting a
/// span costs one check.
/// </summary>
public static class IdentityActivities
{
    public const string CacheSourceName = "identity.cache";

    public const string L2Read = "identity.cache.l2";
    public const string StoreLoad = "identity.cache.load";

    /// <summary>What a span found: <c>hit</c>, <c>miss</c> (nothing usable), <c>found</c> or <c>not_found</c> (a store load).</summary>
    public const string ResultTag = "identity.cache.result";

    public static readonly ActivitySource Cache = new(CacheSourceName);

    public static void Result(this Activity? span, string result)
    {
        if (span is { IsAllDataRequested: true })
            span.SetTag(ResultTag, result);
    }
}
