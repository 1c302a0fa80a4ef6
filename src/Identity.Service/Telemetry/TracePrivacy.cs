using System.Diagnostics;
using OpenTelemetry;

namespace Identity.Service.Telemetry;

/// <summary>
/// The last word on what a span may carry before any exporter sees it. Paths are dropped (the JSON routes put member
/// ids in them; the route template stays in <c>http.route</c>), and so are query strings, status descriptions and
/// anything an exception said: messages may quote what a caller sent. Instrumentations are also configured not to
/// record these; this keeps it so whatever a later version adds.
/// </summary>
public sealed class TracePrivacy : BaseProcessor<Activity>
{
    static readonly string[] Dropped = ["url.path", "url.query", "url.full", "http.target", "http.url", "exception.message", "exception.stacktrace",
        "db.query.parameter", "db.statement.parameters", "otel.status_description", "grpc.status_message", "rpc.grpc.status_message"];

    public override void OnEnd(Activity activity)
    {
        foreach (var tag in Dropped)
            if (activity.GetTagItem(tag) is not null)
                activity.SetTag(tag, null);
        // Parameter values, when an instrumentation records them, are named db.query.parameter.<name>.
        List<string>? parameters = null;
        foreach (var tag in activity.TagObjects)
            if (tag.Key.StartsWith("db.query.parameter.", StringComparison.Ordinal))
                (parameters ??= []).Add(tag.Key);
        foreach (var name in parameters ?? [])
            activity.SetTag(name, null);
        if (activity.StatusDescription is not null)
            activity.SetStatus(activity.Status);
    }
}
