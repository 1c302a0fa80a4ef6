using System.Buffers;
using System.Text;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;

namespace Identity.Service.Errors;

/// <summary>
/// Requests whose bytes are not the message they claim to be. grpc-dotnet parses the request before any interceptor
/// runs, and a parse failure would otherwise end as UNKNOWN with an error-level stack trace; here it is
/// INVALID_ARGUMENT with ErrorInfo <c>MALFORMED_REQUEST</c> (and a BadRequest naming the field when one can be named).
/// </summary>
public static class MalformedRequests
{
    /// <summary>The same method with a request marshaller whose parse failures are the caller's INVALID_ARGUMENT.</summary>
    public static Method<TRequest, TResponse> Guard<TRequest, TResponse>(Method<TRequest, TResponse> method, MalformedRequestLog log)
        where TRequest : class where TResponse : class
    {
        var descriptor = typeof(TRequest).IsAssignableTo(typeof(IMessage))
            ? ((IMessage)Activator.CreateInstance(typeof(TRequest))!).Descriptor
            : null;
        var parse = method.RequestMarshaller.ContextualDeserializer;
        var name = descriptor?.FullName ?? typeof(TRequest).Name;
        var marshaller = Marshallers.Create(method.RequestMarshaller.ContextualSerializer, (DeserializationContext context) =>
        {
            try
            {
                return parse(context);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // Parsing is a pure function of the caller's bytes: whatever it throws, the bytes are at fault.
                var field = descriptor is null ? null : WireFields.FindInvalidUtf8(descriptor, context.PayloadAsReadOnlySequence().ToArray());
                var kind = field is null ? "protobuf" : "invalid UTF-8";
                var detail = field is null ? "its bytes do not parse" : $"{field} is not valid UTF-8";
                log.Refused(kind, method.FullName, detail);
                throw Refuse($"The request is not a valid {name} message: {detail}.", field, field is null ? null : "must be valid UTF-8");
            }
        });
        return new Method<TRequest, TResponse>(method.Type, method.ServiceName, method.Name, marshaller, method.ResponseMarshaller);
    }

    /// <summary>INVALID_ARGUMENT with ErrorInfo <c>MALFORMED_REQUEST</c>, and a field violation when a field is known.</summary>
    public static RpcException Refuse(string message, string? field = null, string? description = null) => ToStatus(message, field, description).ToRpcException();

    public static Google.Rpc.Status ToStatus(string message, string? field, string? description)
    {
        var status = new Google.Rpc.Status { Code = (int)StatusCode.InvalidArgument, Message = message };
        if (field is not null)
        {
            var badRequest = new BadRequest();
            badRequest.FieldViolations.Add(new BadRequest.Types.FieldViolation { Field = field, Description = description ?? "is malformed" });
            status.Details.Add(Any.Pack(badRequest));
        }
        status.Details.Add(Any.Pack(new ErrorInfo { Reason = ErrorReasons.MalformedRequest, Domain = ErrorReasons.Domain }));
        return status;
    }
}
