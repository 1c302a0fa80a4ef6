using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Identity.Service.Hosting;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Errors;

/// <summary>The one place where failures become gRPC statuses (AIP-193): code, actionable message, details.</summary>
public static class ErrorMapping
{
    public static RpcException ToRpcException(Exception exception, CancellationToken callCancelled)
    {
        switch (exception)
        {
            case RpcException rpc:
                return rpc;
            case IdentityException identity:
                return ToRpcException(identity);
            case OperationCanceledException when callCancelled.IsCancellationRequested:
                return new RpcException(new Grpc.Core.Status(StatusCode.Cancelled, "The call was cancelled or its deadline passed."));
            case var fault when StoreFaults.Classify(fault) is { } storeFault:
                return ToRpcException(storeFault);
            case DbUpdateConcurrencyException:
                return Build(StatusCode.Aborted, ErrorReasons.ConcurrentUpdate, "The member changed while this call ran; retry it.");
            case TimeoutException:
                return Build(StatusCode.Unavailable, ErrorReasons.Internal, "The store did not answer in time; retry the call.");
            case OperationCanceledException:
                // Not the caller's cancellation: the server stopped waiting (a shared store load past its own time bound,
                // or the server shutting down). The call may be retried as after a busy store.
                return ToRpcException(StoreFault.Busy);
            default:
                // Never echo an unexpected exception's message: it may carry personal data.
                return Build(StatusCode.Internal, ErrorReasons.Internal, "Internal error.");
        }
    }

    public static RpcException ToRpcException(IdentityException exception)
    {
        var status = new Google.Rpc.Status { Code = (int)exception.Code, Message = exception.Message };
        if (exception.Violations.Count > 0)
        {
            var badRequest = new BadRequest();
            badRequest.FieldViolations.AddRange(exception.Violations);
            status.Details.Add(Any.Pack(badRequest));
        }
        status.Details.Add(Any.Pack(new ErrorInfo { Reason = exception.Reason, Domain = ErrorReasons.Domain }));
        return status.ToRpcException();
    }

    /// <summary>How long a caller is asked to wait before retrying a write the store refused.</summary>
    public static readonly TimeSpan BusyRetryDelay = TimeSpan.FromSeconds(1);

    public static readonly TimeSpan FullRetryDelay = TimeSpan.FromSeconds(30);

    /// <summary>
    /// UNAVAILABLE with RetryInfo: both faults pass by themselves (the other writer finishes, space is freed), and the
    /// write was not applied, so retrying it is safe. Never INTERNAL: the request was fine.
    /// </summary>
    public static RpcException ToRpcException(StoreFault fault)
    {
        var (reason, delay, message) = fault switch
        {
            StoreFault.Busy => (ErrorReasons.StoreBusy, BusyRetryDelay,
                "The store is busy with other writes beyond its busy timeout; nothing was written. Retry the call shortly."),
            _ => (ErrorReasons.StoreFull, FullRetryDelay,
                "The store cannot write: its disk is full (or failing). Nothing was written; reads still work. Retry the call once space is freed."),
        };
        var status = new Google.Rpc.Status { Code = (int)StatusCode.Unavailable, Message = message };
        status.Details.Add(Any.Pack(new RetryInfo { RetryDelay = Duration.FromTimeSpan(delay) }));
        status.Details.Add(Any.Pack(new ErrorInfo { Reason = reason, Domain = ErrorReasons.Domain }));
        return status.ToRpcException();
    }

    static RpcException Build(StatusCode code, string reason, string message)
    {
        var status = new Google.Rpc.Status { Code = (int)code, Message = message };
        status.Details.Add(Any.Pack(new ErrorInfo { Reason = reason, Domain = ErrorReasons.Domain }));
        return status.ToRpcException();
    }
}

/// <summary>Applies <see cref="ErrorMapping"/> to every call, and logs what was not a domain failure.</summary>
public sealed class ErrorInterceptor(ILogger<ErrorInterceptor> logger, StoreFaultLog storeFaults) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception exception) when (exception is not RpcException)
        {
            throw Map(exception, context);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception exception) when (exception is not RpcException)
        {
            throw Map(exception, context);
        }
    }

    public override async Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(requestStream, responseStream, context);
        }
        catch (Exception exception) when (exception is not RpcException)
        {
            throw Map(exception, context);
        }
    }

    RpcException Map(Exception exception, ServerCallContext context)
    {
        var mapped = ErrorMapping.ToRpcException(exception, context.CancellationToken);
        if (StoreFaults.Classify(exception) is { } fault)
            storeFaults.Faulted(fault, context.Method); // expected under load or a full disk: a throttled warning, no stack
        else if (mapped.StatusCode is StatusCode.Internal or StatusCode.Unavailable or StatusCode.Aborted)
            Log.CallFailed(logger, context.Method, exception.GetType().Name, exception);
        return mapped;
    }
}
