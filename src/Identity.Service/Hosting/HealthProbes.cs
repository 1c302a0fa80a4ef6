using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Identity.Service.Hosting;

/// <summary>
/// <c>/healthz</c> (the process answers) and <c>/readyz</c> (the store is migrated and reachable) on the Management
/// endpoint. Redis down is "Degraded": still ready, 200, and the body says so.
/// </summary>
public static class HealthProbes
{
    /// <summary>The tag of the checks readiness runs.</summary>
    public const string Ready = "ready";

    public static void MapHealthProbes(this IEndpointRouteBuilder endpoints)
    {
        var management = endpoints.MapManagement();
        management.MapHealthChecks("/healthz", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync });
        management.MapHealthChecks("/readyz", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(Ready),
            ResponseWriter = WriteAsync,
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        });
    }

    /// <summary><c>{"status":"Degraded","checks":{"database":{"status":"Healthy","description":"…"},…}}</c></summary>
    static async Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("status", report.Status.ToString());
            json.WriteStartObject("checks");
            foreach (var (name, entry) in report.Entries)
            {
                json.WriteStartObject(name);
                json.WriteString("status", entry.Status.ToString());
                json.WriteString("description", entry.Description ?? "");
                json.WriteEndObject();
            }
            json.WriteEndObject();
            json.WriteEndObject();
        }
        await context.Response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted);
    }
}
