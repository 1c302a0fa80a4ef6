using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Core;

namespace Identity.IntegrationTests.Infrastructure;

/// <summary>Calls any unary RPC of the contract by its descriptor, so matrices can be generated from the contract.</summary>
public static class DynamicCall
{
    public static async Task<IMessage> UnaryAsync(CallInvoker invoker, MethodDescriptor method, IMessage request)
    {
        var call = new Method<IMessage, IMessage>(MethodType.Unary, method.Service.FullName, method.Name,
            Marshallers.Create<IMessage>(m => m.ToByteArray(), bytes => method.InputType.Parser.ParseFrom(bytes)),
            Marshallers.Create<IMessage>(m => m.ToByteArray(), bytes => method.OutputType.Parser.ParseFrom(bytes)));
        return await invoker.AsyncUnaryCall(call, null, new CallOptions(deadline: DateTime.UtcNow.AddSeconds(30)), request);
    }

    /// <summary>The outcome of a call: OK, or the failure's status.</summary>
    public static async Task<(StatusCode Code, IMessage? Reply, RpcException? Error)> TryAsync(CallInvoker invoker, MethodDescriptor method, IMessage request)
    {
        try
        {
            return (StatusCode.OK, await UnaryAsync(invoker, method, request), null);
        }
        catch (RpcException e)
        {
            return (e.StatusCode, null, e);
        }
    }

    /// <summary>Every method of every service the contract defines (a service added in a shared file is included).</summary>
    public static IEnumerable<MethodDescriptor> ContractMethods() =>
        new[] { MemberService.Descriptor, LoyaltyService.Descriptor, PartnerService.Descriptor, AdminService.Descriptor, ImportService.Descriptor }
            .Concat(MemberService.Descriptor.File.Dependencies.SelectMany(f => f.Services))
            .DistinctBy(s => s.FullName)
            .SelectMany(s => s.Methods);

    /// <summary>Every member message in a reply, however deep.</summary>
    public static IEnumerable<Member> MembersIn(IMessage? message)
    {
        if (message is null)
            yield break;
        if (message is Member member)
        {
            yield return member;
            yield break;
        }
        foreach (var field in message.Descriptor.Fields.InDeclarationOrder())
        {
            if (field.FieldType != FieldType.Message)
                continue;
            var value = field.Accessor.GetValue(message);
            if (field.IsRepeated)
            {
                foreach (var item in (System.Collections.IEnumerable)value)
                    foreach (var nested in MembersIn(item as IMessage))
                        yield return nested;
            }
            else
            {
                foreach (var nested in MembersIn(value as IMessage))
                    yield return nested;
            }
        }
    }
}
