using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;

namespace Identity.Service.Errors;

/// <summary>
/// Binds a service's generated methods as grpc-dotnet's own binder does — same handlers, same endpoint metadata
/// (the service's and the method's attributes) — but with request marshallers guarded by
/// <see cref="MalformedRequests.Guard{TRequest,TResponse}"/>. It replaces the default binder for every service.
/// </summary>
public sealed class GuardedServiceMethodProvider<[DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.All)] TService>(MalformedRequestLog log)
    : IServiceMethodProvider<TService> where TService : class
{
    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<TService> context)
    {
        if (FindBindMethod() is not { } bind)
            return;
        var binder = new GuardedServiceBinder<TService>(context, bind.GetParameters()[1].ParameterType, log);
        bind.Invoke(null, [binder, null]);
    }

    /// <summary>The generated static <c>BindService(ServiceBinderBase, XxxBase)</c> named by the base class's attribute.</summary>
    static MethodInfo? FindBindMethod()
    {
        for (var type = typeof(TService); type is not null; type = type.BaseType)
        {
            if (type.GetCustomAttribute<BindServiceMethodAttribute>(inherit: false) is not { } attribute)
                continue;
            return attribute.BindType.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static)
                .FirstOrDefault(m => m.Name == attribute.BindMethodName && m.GetParameters() is { Length: 2 } p
                    && p[0].ParameterType == typeof(ServiceBinderBase));
        }
        return null;
    }
}
