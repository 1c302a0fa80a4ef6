using System.Globalization;
using Identity.V1;

namespace Identity.Cli.Output;

/// <summary>Human-readable output of the AdminService and PartnerService calls.</summary>
internal sealed partial class Printer
{
    /// <summary>The new client, then its key: the only time the key is ever printed.</summary>
    public void ClientCreated(CreateClientResponse response)
    {
        Client(response.Client, "(created)");
        Line("key", Or(response.Key));
        output.WriteLine("warning: the key is shown only this once and cannot be shown again; store it in a secret store now");
    }

    public void Client(Client? client, string? note = null)
    {
        if (client is null)
        {
            output.WriteLine("(no client in the response)");
            return;
        }
        Line("client", Or(client.ClientId), note);
        Line("name", Or(client.Name));
        Line("role", RoleText(client.Role), Scope(client));
        Line("rate", Rate(client.RequestsPerSecond));
        Line("prefix", Or(client.KeyPrefix), "(the key's first characters)");
        Line("created", Time(client.CreatedAt));
        if (client.RevokedAt is not null)
        {
            Line("revoked", Time(client.RevokedAt));
        }
    }

    public void Clients(ListClientsResponse response)
    {
        if (response.Clients.Count == 0)
        {
            output.WriteLine("no clients");
            return;
        }
        Table(
        [
            ["id", "name", "role", "stores", "channel", "rps", "key prefix", "created", "revoked"],
            .. response.Clients.Select(c => new[]
            {
                Or(c.ClientId),
                Or(c.Name),
                RoleText(c.Role),
                c.Stores.Count == 0 ? None : string.Join(",", c.Stores),
                c.Channel == Channel.Unspecified ? None : ProtoNames.Channel.Format(c.Channel),
                c.RequestsPerSecond == 0 ? "default" : Number(c.RequestsPerSecond),
                Or(c.KeyPrefix),
                Time(c.CreatedAt),
                Time(c.RevokedAt),
            }),
        ], indent: "");
    }

    public void AuditEvents(ListAuditEventsResponse response)
    {
        if (response.Events.Count == 0)
        {
            output.WriteLine("no events");
        }
        else
        {
            Table(
            [
                ["time", "client", "rpc", "member", "outcome"],
                .. response.Events.Select(e => new[]
                {
                    Time(e.OccurredAt),
                    e.ClientName.Length > 0 ? e.ClientName : Or(e.ClientId),
                    ShortRpc(e.Rpc),
                    Or(e.MemberId),
                    Or(e.Outcome),
                }),
            ], indent: "");
        }
        if (response.NextPageToken.Length > 0)
        {
            output.WriteLine($"next page: --page-token {response.NextPageToken}");
        }
    }

    public void Membership(CheckMembershipResponse response)
    {
        if (!response.IsMember)
        {
            Line("member", "no", "(not a member, or no consent to partner sharing)");
            return;
        }
        Line("member", "yes");
        Line("tier", Or(response.TierName), response.Paid ? "paid" : null);
        Line("phone", Or(response.MaskedPhone));
        Line("partner", Or(response.PartnerMemberId), "(the member's id for this partner)");
    }

    public void PartnerOrderRecorded(RecordPartnerOrderResponse response)
    {
        Line("partner", Or(response.PartnerMemberId), Replayed(response.Replayed));
        Line("earned", Points(response.PointsEarned));
    }

    private static string RoleText(ClientRole role) => role == ClientRole.Unspecified ? None : ProtoNames.ClientRole.Format(role);

    /// <summary>What limits the client beyond its role: a POS's stores, a mini-program's channel.</summary>
    private static string? Scope(Client client)
    {
        var parts = new List<string>();
        if (client.Stores.Count > 0)
        {
            parts.Add($"stores {string.Join(", ", client.Stores)}");
        }
        else if (client.Role == ClientRole.Pos)
        {
            parts.Add("any store");
        }
        if (client.Channel != Channel.Unspecified)
        {
            parts.Add($"channel {ProtoNames.Channel.Format(client.Channel)}");
        }
        return parts.Count == 0 ? null : string.Join("   ", parts);
    }

    private static string Rate(int requestsPerSecond) =>
        requestsPerSecond == 0 ? "the role's default" : requestsPerSecond.ToString(CultureInfo.InvariantCulture) + " requests/s";

    /// <summary><c>/identity.v1.PartnerService/CheckMembership</c> is <c>PartnerService/CheckMembership</c>.</summary>
    private static string ShortRpc(string rpc)
    {
        var path = rpc.TrimStart('/');
        var slash = path.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0)
        {
            return Or(path);
        }
        var service = path[..slash];
        return service[(service.LastIndexOf('.') + 1)..] + path[slash..];
    }
}
