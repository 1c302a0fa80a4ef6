using Google.Rpc;
using Grpc.Core;

namespace Identity.IntegrationTests.Infrastructure;

/// <summary>Assertions on gRPC failures and their AIP-193 details.</summary>
public static class Rpc
{
    public static async Task<RpcException> FailsWith(StatusCode code, Func<Task> call)
    {
        var exception = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(code == exception.StatusCode, $"Expected {code}, got {exception.StatusCode}: {exception.Status.Detail}");
        return exception;
    }

    public static Task<RpcException> FailsWith<T>(StatusCode code, AsyncUnaryCall<T> call) => FailsWith(code, async () => await call);

    public static IReadOnlyList<string> BadFields(this RpcException exception) =>
        exception.GetRpcStatus()?.GetDetail<BadRequest>()?.FieldViolations.Select(v => v.Field).ToList() ?? [];

    /// <summary>The reason a field violation carries of its own (LATE_ORDER, MOBILE_REQUIRED), or empty.</summary>
    public static string FieldReason(this RpcException exception, string field) =>
        exception.GetRpcStatus()?.GetDetail<BadRequest>()?.FieldViolations.FirstOrDefault(v => v.Field == field)?.Reason ?? "";

    public static string? Reason(this RpcException exception) => exception.GetRpcStatus()?.GetDetail<ErrorInfo>()?.Reason;
}
