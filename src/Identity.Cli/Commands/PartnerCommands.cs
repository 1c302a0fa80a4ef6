using System.CommandLine;
using Google.Protobuf.WellKnownTypes;
using Identity.V1;

namespace Identity.Cli.Commands;

/// <summary>
/// The PartnerService RPCs, as a partner brand calls them: for trying a partner client's key (<c>--key</c>); the
/// service answers only callers with the partner role.
/// </summary>
internal static class PartnerCommands
{
    public static IEnumerable<Command> Create(GlobalOptions globals)
    {
        var action = new RpcAction(globals);
        yield return new Command("partner", "Partner brands' calls (need a partner client's key: --key)")
        {
            Check(action),
            Order(action),
        };
    }

    private static Command Check(RpcAction action)
    {
        var person = new PersonOptions();
        var command = new Command("check", "Is this person a member who agreed to partner sharing? (tier, paid, masked phone)");
        person.AddTo(command);
        action.SetPartner(command, (parse, client, options) =>
        {
            var request = new CheckMembershipRequest();
            if (parse.GetValue(person.Phone) is { } phone)
            {
                request.Phone = phone;
            }
            else
            {
                request.PartnerMemberId = parse.GetValue(person.PartnerMemberId) ?? "";
            }
            return client.CheckMembershipAsync(request, options);
        }, (printer, response) => printer.Membership(response));
        return command;
    }

    private static Command Order(RpcAction action)
    {
        var person = new PersonOptions();
        var orderId = CliOptions.Text("--order-id", "The partner's order id; the key that makes a retry safe", "id", required: true);
        var amount = CliOptions.Yuan("--amount", "Amount paid", required: true);
        var paidAt = CliOptions.Instant("--paid-at", "When it was paid");
        var command = new Command("order", "Report a co-branded purchase: earns points at the program's partner rate");
        person.AddTo(command);
        command.Options.Add(orderId);
        command.Options.Add(amount);
        command.Options.Add(paidAt);
        action.SetPartner(command, (parse, client, options) =>
        {
            var request = new RecordPartnerOrderRequest
            {
                OrderId = parse.GetRequiredValue(orderId),
                AmountFen = parse.GetValue(amount),
                PaidAt = parse.TimestampOf(paidAt) ?? Timestamp.FromDateTime(DateTime.UtcNow),
            };
            if (parse.GetValue(person.Phone) is { } phone)
            {
                request.Phone = phone;
            }
            else
            {
                request.PartnerMemberId = parse.GetValue(person.PartnerMemberId) ?? "";
            }
            return client.RecordPartnerOrderAsync(request, options);
        }, (printer, response) => printer.PartnerOrderRecorded(response));
        return command;
    }

    /// <summary><c>--phone P | --partner-member-id X</c>: the person, as a partner names them (exactly one).</summary>
    private sealed class PersonOptions
    {
        public Option<string> Phone { get; } = CliOptions.Text("--phone", "Phone number, in any written form", "phone");

        public Option<string> PartnerMemberId { get; } =
            CliOptions.Text("--partner-member-id", "The member's id for this partner, from an earlier answer", "id");

        public void AddTo(Command command)
        {
            command.Options.Add(Phone);
            command.Options.Add(PartnerMemberId);
            command.Validators.Add(result =>
            {
                if (result.IsGiven(Phone) == result.IsGiven(PartnerMemberId))
                {
                    result.AddError("give exactly one of --phone or --partner-member-id");
                }
            });
        }
    }
}
