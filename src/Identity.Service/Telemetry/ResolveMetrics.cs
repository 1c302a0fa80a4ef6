using System.Diagnostics;
using System.Diagnostics.Metrics;
using Grpc.Core;
using Identity.Service.Errors;
using Identity.V1;

namespace Identity.Service.Telemetry;

/// <summary>
/// The <c>identity.members</c> meter: every ResolveMember call, by the kind of key it named and its outcome, as one
/// latency histogram (its <c>_count</c> series counts the resolves). The labels are fixed words, never the key itself.
/// </summary>
public sealed class ResolveMetrics
{
    public const string MeterName = "identity.members";
    public const string Duration = "identity.resolve.duration";

    /// <summary>
    /// Bucket bounds in seconds for a path that answers from memory in tens of microseconds and from Redis or the store
    /// in milliseconds (the default bounds start at 5 ms and would put every cached resolve in one bucket).
    /// </summary>
    static readonly double[] Buckets = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

    static readonly string[] Kinds = ["none", "phone", "channel_identity", "member_id"];

    // Indexed by StatusCode (0..16): OK is never passed here (a found member is "found" or "redirected").
    static readonly string[] Outcomes =
    [
        "found", "cancelled", "error", "invalid_argument", "deadline_exceeded", "not_found", "already_exists",
        "permission_denied", "resource_exhausted", "failed_precondition", "aborted", "out_of_range", "unimplemented",
        "error", "unavailable", "error", "unauthenticated",
    ];

    readonly Histogram<double> duration;

    public ResolveMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        duration = meter.CreateHistogram(Duration, "s",
            "ResolveMember calls: time in the handler, by key_kind (phone, channel_identity, member_id) and outcome (found, redirected, not_found, invalid_argument, ...).",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = Buckets });
    }

    public static string KindOf(ResolveMemberRequest.KeyOneofCase key) => Kinds[(int)key < Kinds.Length ? (int)key : 0];

    public void Resolved(string kind, bool redirected, long startedAt) =>
        Record(kind, redirected ? "redirected" : "found", startedAt);

    /// <summary>Records a call that ended in an error; returns false, so it can sit in an exception filter.</summary>
    public bool Failed(string kind, Exception exception, long startedAt)
    {
        var code = exception switch
        {
            IdentityException identity => identity.Code,
            RpcException rpc => rpc.StatusCode,
            OperationCanceledException => StatusCode.Cancelled,
            _ => StatusCode.Internal,
        };
        Record(kind, code is > 0 and <= StatusCode.Unauthenticated ? Outcomes[(int)code] : "error", startedAt);
        return false;
    }

    void Record(string kind, string outcome, long startedAt)
    {
        if (!duration.Enabled)
            return;
        var tags = new TagList { { "key_kind", kind }, { "outcome", outcome } };
        duration.Record(Stopwatch.GetElapsedTime(startedAt).TotalSeconds, tags);
        // The server span says the same, for traces that are looked at one by one.
        if (Activity.Current is { IsAllDataRequested: true } span)
        {
            span.SetTag("identity.resolve.key_kind", kind);
            span.SetTag("identity.resolve.outcome", outcome);
        }
    }
}
