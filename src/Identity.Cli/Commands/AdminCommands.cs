using System.CommandLine;
using Identity.V1;

namespace Identity.Cli.Commands;

/// <summary>The AdminService RPCs (callers with the admin role): <c>clients create|list|revoke</c> and <c>audit</c>.</summary>
internal static class AdminCommands
{
    private const int MaxRequestsPerSecond = 1_000_000;

    public static IEnumerable<Command> Create(GlobalOptions globals)
    {
        var action = new RpcAction(globals);
        yield return Clients(action);
        yield return Audit(action);
    }

    private static Command Clients(RpcAction action) =>
        new("clients", "The clients that may call the service, each with its own key and role")
        {
            CreateClient(action),
            ListClients(action),
            RevokeClient(action),
        };

    private static Command CreateClient(RpcAction action)
    {
        var name = CliOptions.Text("--name", "Human name, unique among active clients, e.g. store-S001-till-3", "name", required: true);
        var role = CliOptions.ClientRole("--role", "What the client may do", required: true);
        var stores = new Option<string[]>("--store")
        {
            Description = "Store a pos client may write for; repeat for several (default: any store)",
            HelpName = "id",
        };
        var channel = CliOptions.Channel("--channel", "Channel whose identities a miniprogram client may use (required for that role)");
        var rps = new Option<int>("--rps")
        {
            Description = $"Requests per second allowed, at most {MaxRequestsPerSecond} (default: the role's default)",
            HelpName = "n",
        };
        rps.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<int>();
            if (value is <= 0 or > MaxRequestsPerSecond)
            {
                result.AddError($"--rps must be between 1 and {MaxRequestsPerSecond}");
            }
        });
        var command = new Command("create", "Register a client and print its key (shown this once; only its hash is stored)");
        command.Options.Add(name);
        command.Options.Add(role);
        command.Options.Add(stores);
        command.Options.Add(channel);
        command.Options.Add(rps);
        command.Validators.Add(result =>
        {
            if (result.GetValue(role) == ClientRole.Miniprogram && !result.IsGiven(channel))
            {
                result.AddError("--role miniprogram needs --channel");
            }
        });

        action.SetAdmin(command, (parse, client, options) => client.CreateClientAsync(new CreateClientRequest
        {
            Name = parse.GetRequiredValue(name),
            Role = parse.GetValue(role),
            Stores = { parse.GetValue(stores) ?? [] },
            Channel = parse.GetValue(channel),
            RequestsPerSecond = parse.GetValue(rps),
        }, options), (printer, response) => printer.ClientCreated(response));
        return command;
    }

    private static Command ListClients(RpcAction action)
    {
        var command = new Command("list", "List every client, active and revoked, oldest first");
        action.SetAdmin(command, (_, client, options) => client.ListClientsAsync(new ListClientsRequest(), options),
            (printer, response) => printer.Clients(response));
        return command;
    }

    private static Command RevokeClient(RpcAction action)
    {
        var clientId = CliOptions.Text("--client-id", "The client to revoke", "id", required: true);
        var command = new Command("revoke", "Revoke a client's key at once (safe to repeat)");
        command.Options.Add(clientId);
        action.SetAdmin(command, (parse, client, options) => client.RevokeClientAsync(new RevokeClientRequest
        {
            ClientId = parse.GetRequiredValue(clientId),
        }, options), (printer, response) => printer.Client(response.Client, "(revoked)"));
        return command;
    }

    private static Command Audit(RpcAction action)
    {
        var clientId = CliOptions.Text("--client-id", "Only this client's calls", "id");
        var memberId = CliOptions.Text("--member-id", "Only calls about this member", "id");
        var from = CliOptions.Instant("--from", "Only calls at or after this time", whenOmitted: "no lower bound");
        var to = CliOptions.Instant("--to", "Only calls before this time", whenOmitted: "no upper bound");
        var pageSize = new Option<int>("--page-size")
        {
            Description = "Events per page (server default 100, at most 1000)",
            HelpName = "n",
        };
        pageSize.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() <= 0)
            {
                result.AddError("--page-size must be more than 0");
            }
        });
        var pageToken = CliOptions.Text("--page-token", "Continue from the page this token names (printed after each page)", "token");
        var all = new Option<bool>("--all") { Description = "Follow the page tokens to the end and print every event" };
        var command = new Command("audit", "List audited calls, newest first: who called what, about which member, and the outcome");
        command.Options.Add(clientId);
        command.Options.Add(memberId);
        command.Options.Add(from);
        command.Options.Add(to);
        command.Options.Add(pageSize);
        command.Options.Add(pageToken);
        command.Options.Add(all);
        command.Validators.Add(result =>
        {
            if (result.IsGiven(from) && result.IsGiven(to) && result.GetValue(from) >= result.GetValue(to))
            {
                result.AddError("--from must be before --to");
            }
        });

        action.Run(command, async (parse, connection, cancellationToken) =>
        {
            var request = new ListAuditEventsRequest
            {
                ClientId = parse.GetValue(clientId) ?? "",
                MemberId = parse.GetValue(memberId) ?? "",
                From = parse.TimestampOf(from),
                To = parse.TimestampOf(to),
                PageSize = parse.GetValue(pageSize),
                PageToken = parse.GetValue(pageToken) ?? "",
            };
            var response = await connection.Admin.ListAuditEventsAsync(request, connection.CallOptions(cancellationToken));
            if (!parse.GetValue(all))
            {
                return response;
            }
            // One response with every event; a token seen twice would loop forever, so it stops there (and is printed).
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (response.NextPageToken.Length > 0 && seen.Add(response.NextPageToken))
            {
                request.PageToken = response.NextPageToken;
                var page = await connection.Admin.ListAuditEventsAsync(request, connection.CallOptions(cancellationToken));
                response.Events.AddRange(page.Events);
                response.NextPageToken = page.NextPageToken;
            }
            return response;
        }, (_, printer, response) => printer.AuditEvents(response));
        return command;
    }
}
