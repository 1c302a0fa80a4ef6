using System.Diagnostics;
using Grpc.Core;
using Identity.Service.Telemetry;

namespace Identity.IntegrationTests.Telemetry;

/// <summary>One resolve, traced: the server span, and beneath it the Redis read and the store load with their commands.</summary>
public sealed class TracingTests : IAsyncLifetime
{
    RedisProcess redis = null!;

    public async Task InitializeAsync() => redis = await RedisProcess.StartAsync();

    public async Task DisposeAsync() => await redis.DisposeAsync();

    [Fact]
    public async Task A_cold_resolve_has_its_server_span_with_redis_and_store_spans_beneath()
    {
        var (server, spans) = await SpanLog.StartServerAsync(redis);
        await using var _ = server;
        // A phone no level has seen: L1 misses, Redis is asked and misses, the store answers (no such member).
        var phone = TestData.Phone();

        // The caller's trace context, so this call's spans can be told from every other.
        var traceId = ActivityTraceId.CreateRandom();
        await Rpc.FailsWith(StatusCode.NotFound, server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone }, Traced(traceId)));

        // The read is a script; the store's answer is then written back (SETEX), possibly profiled first: wait for the read.
        var seen = (await spans.WaitForAsync(s => s.TraceId == traceId && s.Source.Name == SpanLog.RedisSource && s.DisplayName.Contains("EVAL", StringComparison.Ordinal)))
            .Where(s => s.TraceId == traceId).ToList();
        var names = string.Join(", ", seen.Select(s => $"{s.Source.Name}:{s.DisplayName}"));
        var root = Assert.Single(seen, s => s.Kind == ActivityKind.Server);
        Assert.Contains("ResolveMember", root.DisplayName);
        Assert.Equal("phone", root.GetTagItem("identity.resolve.key_kind"));
        Assert.Equal("not_found", root.GetTagItem("identity.resolve.outcome"));

        var l2 = Assert.Single(seen, s => s.DisplayName == IdentityActivities.L2Read);
        Assert.Equal(root.SpanId, l2.ParentSpanId);
        Assert.Equal("miss", l2.GetTagItem(IdentityActivities.ResultTag));
        Assert.True(seen.Any(s => s.Source.Name == SpanLog.RedisSource && s.ParentSpanId == l2.SpanId), names);

        var load = Assert.Single(seen, s => s.DisplayName == IdentityActivities.StoreLoad);
        Assert.Equal(root.SpanId, load.ParentSpanId);
        Assert.Equal("not_found", load.GetTagItem(IdentityActivities.ResultTag));
        Assert.True(seen.Any(s => s.Source.Name == SpanLog.EfSource && s.ParentSpanId == load.SpanId), names);

        // Asked again, the remembered "not found" answers from a cache level: no store load.
        var warmTrace = ActivityTraceId.CreateRandom();
        await Rpc.FailsWith(StatusCode.NotFound, server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone }, Traced(warmTrace)));
        var warm = (await spans.WaitForAsync(s => s.TraceId == warmTrace && s.Kind == ActivityKind.Server)).Where(s => s.TraceId == warmTrace).ToList();
        Assert.Single(warm, s => s.Kind == ActivityKind.Server);
        Assert.DoesNotContain(warm, s => s.DisplayName == IdentityActivities.StoreLoad);
    }

    static Metadata Traced(ActivityTraceId traceId) => new() { { "traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01" } };
}
