using Grpc.Core;
using Identity.Service.Errors;
using Identity.Service.Loyalty;
using Identity.Service.Storage;
using Identity.V1;

namespace Identity.Service.Security;

/// <summary><c>identity.v1.AdminService</c>: the client registry and the audit trail.</summary>
public sealed class AdminGrpcService(ClientRegistry registry, AuditTrail audit) : AdminService.AdminServiceBase
{
    const int MaxStores = 100;
    const int MaxRequestsPerSecond = 1_000_000;

    public override async Task<CreateClientResponse> CreateClient(CreateClientRequest request, ServerCallContext context)
    {
        var v = new FieldViolations();
        var name = v.Required("name", request.Name, 64);
        v.KnownEnum("role", request.Role, required: true);
        v.KnownEnum("channel", request.Channel, required: request.Role == ClientRole.Miniprogram);
        if (request.Stores.Count > MaxStores)
            v.Add("stores", $"must have at most {MaxStores} stores");
        else if (request.Stores.Count > 0 && request.Role != ClientRole.Pos)
            v.Add("stores", "apply to POS clients only");
        var stores = request.Stores.Select(s => v.Required("stores", s, MemberLimits.StoreIdLength)).OfType<string>().Distinct().ToList();
        if (stores.Any(s => s.Contains(',', StringComparison.Ordinal)))
            v.Add("stores", "must not contain commas");
        if (request.RequestsPerSecond is < 0 or > MaxRequestsPerSecond)
            v.Add("requests_per_second", $"must be between 0 (the role's default) and {MaxRequestsPerSecond}");
        v.ThrowIfAny();
        var (client, key) = await registry.CreateAsync(name!, request.Role, stores, request.Channel, request.RequestsPerSecond, context.CancellationToken);
        return new CreateClientResponse { Client = ClientRegistry.ToMessage(client), Key = key };
    }

    public override async Task<ListClientsResponse> ListClients(ListClientsRequest request, ServerCallContext context)
    {
        var response = new ListClientsResponse();
        response.Clients.AddRange((await registry.ListAsync(context.CancellationToken)).Select(ClientRegistry.ToMessage));
        return response;
    }

    public override async Task<RevokeClientResponse> RevokeClient(RevokeClientRequest request, ServerCallContext context)
    {
        var v = new FieldViolations();
        var id = v.Required("client_id", request.ClientId, 64);
        v.ThrowIfAny();
        return new RevokeClientResponse { Client = ClientRegistry.ToMessage(await registry.RevokeAsync(id!, context.CancellationToken)) };
    }

    public override Task<ListAuditEventsResponse> ListAuditEvents(ListAuditEventsRequest request, ServerCallContext context)
    {
        var v = new FieldViolations();
        var clientId = v.Optional("client_id", request.ClientId, 64);
        var memberId = v.Optional("member_id", request.MemberId, MemberLimits.MemberIdLength);
        var (size, before) = PageToken.Read(v, request.PageSize, request.PageToken, defaultSize: 100, maxSize: 1000);
        var from = v.Instant("from", request.From);
        var to = v.Instant("to", request.To);
        if (from > to)
            v.Add("to", "must not be before from");
        v.ThrowIfAny();
        return audit.ListAsync(clientId, memberId, from, to, size, before, context.CancellationToken);
    }
}
