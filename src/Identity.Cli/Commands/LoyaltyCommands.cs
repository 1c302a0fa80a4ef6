using System.CommandLine;
using System.Security.Cryptography;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Identity.V1;

namespace Identity.Cli.Commands;

/// <summary>One command per LoyaltyService RPC. The member is named as for resolve (see <see cref="MemberKeyOptions"/>).</summary>
internal static class LoyaltyCommands
{
    public static IEnumerable<Command> Create(GlobalOptions globals)
    {
        var action = new RpcAction(globals);
        yield return Benefits(action);
        yield return Order(action);
        yield return Refund(action);
        yield return Redeem(action);
        yield return Adjust(action);
        yield return CheckIn(action);
        yield return Membership(action);
        yield return Points(action);
        yield return Program(action);
        yield return Maintenance(action);
        yield return Ledger(action);
    }

    private static Command Benefits(RpcAction action)
    {
        var channel = CallChannel("Channel of the sale or page", required: true);
        var member = MemberKeyOptions.SharingChannel(channel);
        var store = CliOptions.Text("--store", "Store, for in-store sales", "id");
        var at = CliOptions.Instant("--at", "Quote for this time");
        var command = new Command("benefits", "Show a member's tier and the benefits that apply in a channel, store and time");
        member.AddTo(command);
        command.Options.Add(store);
        command.Options.Add(at);

        action.SetLoyalty(command, (parse, client, options) => client.GetBenefitsAsync(new GetBenefitsRequest
        {
            Member = member.Read(parse),
            Context = new BenefitContext
            {
                Channel = parse.GetValue(channel),
                StoreId = parse.GetValue(store) ?? "",
                At = parse.TimestampOf(at),
            },
        }, options), (printer, response) => printer.Benefits(response));
        return command;
    }

    private static Command Order(RpcAction action)
    {
        var channel = CallChannel("Sales channel of the order", required: true);
        var member = MemberKeyOptions.SharingChannel(channel);
        var orderId = CliOptions.Text("--order-id", "The channel's order id; with --channel the key that makes a retry safe", "id", required: true);
        var amount = CliOptions.Yuan("--amount", "Amount paid", required: true);
        var store = CliOptions.Text("--store", "Store, for in-store orders", "id");
        var guide = CliOptions.Text("--guide", "Guide (BA) id, for attribution", "id");
        var paidAt = CliOptions.Instant("--paid-at", "When it was paid");
        var command = new Command("order", "Record a paid order: earns points and growth");
        member.AddTo(command);
        command.Options.Add(orderId);
        command.Options.Add(amount);
        command.Options.Add(store);
        command.Options.Add(guide);
        command.Options.Add(paidAt);

        action.SetLoyalty(command, (parse, client, options) => client.RecordOrderAsync(new RecordOrderRequest
        {
            Member = member.Read(parse),
            Channel = parse.GetValue(channel),
            OrderId = parse.GetRequiredValue(orderId),
            AmountFen = parse.GetValue(amount),
            StoreId = parse.GetValue(store) ?? "",
            GuideId = parse.GetValue(guide) ?? "",
            // Absent unless given: the server takes the time it receives the order, and a repeated command sends the same
            // request, so it replays instead of being refused as a reused key.
            PaidAt = parse.TimestampOf(paidAt),
        }, options), (printer, response) => printer.OrderRecorded(response));
        return command;
    }

    private static Command Refund(RpcAction action)
    {
        var channel = CliOptions.Channel("--channel", "Channel of the refunded order", required: true);
        var orderId = CliOptions.Text("--order-id", "The refunded order's id", "id", required: true);
        var refundId = CliOptions.Text("--refund-id", "The channel's refund id; with --channel the key that makes a retry safe", "id", required: true);
        var amount = CliOptions.Yuan("--amount", "Amount refunded", required: true);
        var refundedAt = CliOptions.Instant("--refunded-at", "When it was refunded");
        var command = new Command("refund", "Record a refund of an order: takes back points and growth in proportion");
        command.Options.Add(channel);
        command.Options.Add(orderId);
        command.Options.Add(refundId);
        command.Options.Add(amount);
        command.Options.Add(refundedAt);

        action.SetLoyalty(command, (parse, client, options) => client.RecordRefundAsync(new RecordRefundRequest
        {
            Channel = parse.GetValue(channel),
            OrderId = parse.GetRequiredValue(orderId),
            RefundId = parse.GetRequiredValue(refundId),
            AmountFen = parse.GetValue(amount),
            RefundedAt = parse.TimestampOf(refundedAt),
        }, options), (printer, response) => printer.RefundRecorded(response));
        return command;
    }

    private static Command Redeem(RpcAction action)
    {
        var channel = CallChannel("Channel where the points are spent", required: false);
        var member = MemberKeyOptions.SharingChannel(channel);
        var points = PointsOption("Points to spend (more than 0)", allowNegative: false);
        var requestId = RequestIdOption("Your id for this redemption");
        var reason = CliOptions.Text("--reason", "What the points are spent on, for the ledger", "text");
        var store = CliOptions.Text("--store", "Store, if in store", "id");
        var command = new Command("redeem", "Spend a member's points, soonest-expiring first (never overdraws)");
        member.AddTo(command);
        command.Options.Add(points);
        command.Options.Add(requestId);
        command.Options.Add(reason);
        command.Options.Add(store);

        action.SetLoyalty(command, (parse, client, options) => client.RedeemPointsAsync(WithRequestId(parse, requestId, new RedeemPointsRequest
        {
            Member = member.Read(parse),
            Points = parse.GetValue(points),
            Reason = parse.GetValue(reason) ?? "",
            Channel = parse.GetValue(channel),
            StoreId = parse.GetValue(store) ?? "",
        }, (r, id) => r.RequestId = id), options), (printer, response) => printer.Redeemed(response));
        return command;
    }

    private static Command Adjust(RpcAction action)
    {
        var member = MemberKeyOptions.WithOwnChannel();
        var points = PointsOption("Signed points: positive credits, negative debits (write --points=-N or --points -N)", allowNegative: true);
        var reason = CliOptions.Text("--reason", "Why, for the ledger", "text", required: true);
        var @operator = CliOptions.Text("--operator", "Who asks, for the ledger", "name", required: true);
        var requestId = RequestIdOption("Your id for this adjustment");
        var command = new Command("adjust", "Correct a member's points (operator adjustment)");
        member.AddTo(command);
        command.Options.Add(points);
        command.Options.Add(reason);
        command.Options.Add(@operator);
        command.Options.Add(requestId);

        action.SetLoyalty(command, (parse, client, options) => client.AdjustPointsAsync(WithRequestId(parse, requestId, new AdjustPointsRequest
        {
            Member = member.Read(parse),
            Points = parse.GetValue(points),
            Reason = parse.GetRequiredValue(reason),
            Operator = parse.GetRequiredValue(@operator),
        }, (r, id) => r.RequestId = id), options), (printer, response) => printer.Adjusted(response));
        return command;
    }

    private static Command CheckIn(RpcAction action)
    {
        var channel = CallChannel("Channel of the check-in", required: true);
        var member = MemberKeyOptions.SharingChannel(channel);
        var at = CliOptions.Instant("--at", "Time of the check-in (its brand-local day is the key)");
        var command = new Command("checkin", "Daily check-in: grants the program's check-in points once per brand-local day");
        member.AddTo(command);
        command.Options.Add(at);

        action.SetLoyalty(command, (parse, client, options) => client.CheckInAsync(new CheckInRequest
        {
            Member = member.Read(parse),
            Channel = parse.GetValue(channel),
            At = parse.TimestampOf(at),
        }, options), (printer, response) => printer.CheckedIn(response));
        return command;
    }

    private static Command Membership(RpcAction action)
    {
        var channel = CallChannel("Channel where it was bought", required: false);
        var member = MemberKeyOptions.SharingChannel(channel);
        var tier = CliOptions.Text("--tier", "Code of the paid tier, e.g. black", "code", required: true);
        var paid = CliOptions.Yuan("--paid", "The tier's price as paid", required: true);
        var requestId = RequestIdOption("The payment id");
        var paidAt = CliOptions.Instant("--paid-at", "When it was paid");
        var buy = new Command("buy", "Buy or renew a paid tier (e.g. black card)");
        member.AddTo(buy);
        buy.Options.Add(tier);
        buy.Options.Add(paid);
        buy.Options.Add(requestId);
        buy.Options.Add(paidAt);

        action.SetLoyalty(buy, (parse, client, options) => client.PurchaseMembershipAsync(WithRequestId(parse, requestId, new PurchaseMembershipRequest
        {
            Member = member.Read(parse),
            TierCode = parse.GetRequiredValue(tier),
            PaidFen = parse.GetValue(paid),
            Channel = parse.GetValue(channel),
            PaidAt = parse.TimestampOf(paidAt),
        }, (r, id) => r.RequestId = id), options), (printer, response) => printer.MembershipBought(response));

        return new Command("membership", "Paid tiers") { buy };
    }

    private static Command Points(RpcAction action)
    {
        var member = MemberKeyOptions.WithOwnChannel();
        var command = new Command("points", "Show a member's points: balance, what expires soon, and the open lots");
        member.AddTo(command);
        action.SetLoyalty(command, (parse, client, options) => client.GetPointsAccountAsync(new GetPointsAccountRequest
        {
            Member = member.Read(parse),
        }, options), (printer, response) => printer.PointsAccount(response));

        command.Subcommands.Add(PointsHistory(action));
        return command;
    }

    private static Command PointsHistory(RpcAction action)
    {
        var member = MemberKeyOptions.WithOwnChannel();
        var pageSize = new Option<int>("--page-size")
        {
            Description = "Entries per page (server default 50, at most 500)",
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
        var all = new Option<bool>("--all") { Description = "Follow the page tokens to the end and print every entry" };
        var command = new Command("history", "List a member's points ledger entries, newest first");
        member.AddTo(command);
        command.Options.Add(pageSize);
        command.Options.Add(pageToken);
        command.Options.Add(all);

        action.Run(command, async (parse, connection, cancellationToken) =>
        {
            var request = new ListPointsEntriesRequest
            {
                Member = member.Read(parse),
                PageSize = parse.GetValue(pageSize),
                PageToken = parse.GetValue(pageToken) ?? "",
            };
            var response = await connection.Loyalty.ListPointsEntriesAsync(request, connection.CallOptions(cancellationToken));
            if (!parse.GetValue(all))
            {
                return response;
            }
            // One response with every entry; a token seen twice would loop forever, so it stops there (and is printed).
            var seen = new HashSet<string>(StringComparer.Ordinal);
            while (response.NextPageToken.Length > 0 && seen.Add(response.NextPageToken))
            {
                request.PageToken = response.NextPageToken;
                var page = await connection.Loyalty.ListPointsEntriesAsync(request, connection.CallOptions(cancellationToken));
                response.Entries.AddRange(page.Entries);
                response.NextPageToken = page.NextPageToken;
            }
            return response;
        }, (_, printer, response) => printer.PointsEntries(response));
        return command;
    }

    private static Command Program(RpcAction action)
    {
        var show = new Command("show", "Show the program in force: version, publication time, JSON definition");
        action.SetLoyalty(show, (_, client, options) => client.GetProgramAsync(new GetProgramRequest(), options),
            (printer, response) => printer.Program(response));

        var file = new Argument<string>("file") { Description = "The program definition (JSON); - reads standard input" };
        var validateOnly = new Option<bool>("--validate-only") { Description = "Only check the definition; publish nothing" };
        var expectedVersion = new Option<int>("--expected-version")
        {
            Description = "Publish only if this version is in force (guards against a concurrent publish)",
            HelpName = "n",
        };
        expectedVersion.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() <= 0)
            {
                result.AddError("--expected-version must be more than 0");
            }
        });
        var publish = new Command("publish", "Validate a program definition and publish it as the next version, in force at once");
        publish.Arguments.Add(file);
        publish.Options.Add(validateOnly);
        publish.Options.Add(expectedVersion);
        action.Run(publish, async (parse, connection, cancellationToken) =>
            await connection.Loyalty.PublishProgramAsync(new PublishProgramRequest
            {
                ProgramJson = ReadText(parse.GetRequiredValue(file)),
                ValidateOnly = parse.GetValue(validateOnly),
                ExpectedVersion = parse.GetValue(expectedVersion),
            }, connection.CallOptions(cancellationToken)),
            (parse, printer, response) => printer.ProgramPublished(response, parse.GetValue(validateOnly)));

        return new Command("program", "The tier and benefit program") { show, publish };
    }

    private static Command Maintenance(RpcAction action)
    {
        var asOf = CliOptions.Instant("--as-of", "Run as of this time");
        var run = new Command("run", "Expire points and assess tiers as of a time; safe to repeat (may need a longer --timeout)");
        run.Options.Add(asOf);
        action.SetLoyalty(run, (parse, client, options) => client.RunMaintenanceAsync(new RunMaintenanceRequest
        {
            AsOf = parse.TimestampOf(asOf),
        }, options), (printer, response) => printer.Maintenance(response));

        return new Command("maintenance", "Points expiry and tier assessment") { run };
    }

    private static Command Ledger(RpcAction action)
    {
        var verify = new Command("verify", "Check every points account against its entries; exit 1 when a discrepancy is found (may need a longer --timeout)");
        action.SetLoyalty(verify, (_, client, options) => client.VerifyLedgerAsync(new VerifyLedgerRequest(), options),
            (printer, response) => printer.LedgerVerified(response),
            response => response.Problems.Count == 0 ? ExitCodes.Ok : ExitCodes.Problems);

        return new Command("ledger", "The points ledger") { verify };
    }

    /// <summary>
    /// The command's own <c>--channel</c>, which also names the channel of <c>--external-id</c> unless
    /// <c>--identity-channel</c> is given.
    /// </summary>
    private static Option<Channel> CallChannel(string description, bool required) =>
        CliOptions.Channel("--channel", $"{description}, and of --external-id unless --identity-channel is given", required);

    private static Option<long> PointsOption(string description, bool allowNegative)
    {
        var option = new Option<long>("--points")
        {
            Description = description,
            HelpName = allowNegative ? "±n" : "n",
            Required = true,
        };
        option.Validators.Add(result =>
        {
            var points = result.GetValueOrDefault<long>();
            if (allowNegative ? points == 0 : points <= 0)
            {
                result.AddError(allowNegative ? "--points must not be 0" : "--points must be more than 0");
            }
        });
        return option;
    }

    private static Option<string> RequestIdOption(string description)
    {
        var option = CliOptions.Text("--request-id", $"{description}; a retry with the same id is safe (default: derived from the request, so the same command replays)", "id");
        option.Validators.Add(result =>
        {
            if (string.IsNullOrWhiteSpace(result.GetValueOrDefault<string>()))
            {
                result.AddError("--request-id must not be empty");
            }
        });
        return option;
    }

    /// <summary>
    /// Sets the request id: the given one, or one derived from the request itself (a hash of everything else it says), so
    /// that running the same command again sends the same request and replays. A second, identical operation that is
    /// really meant needs its own --request-id.
    /// </summary>
    private static T WithRequestId<T>(ParseResult parse, Option<string> option, T request, Action<T, string> set) where T : IMessage
    {
        if (parse.GetValue(option) is { } given)
        {
            set(request, given);
            return request;
        }
        var derived = "cli-" + Convert.ToHexString(SHA256.HashData(request.ToByteArray()))[..24].ToLowerInvariant();
        set(request, derived);
        // On stderr: never mixed into --json output.
        parse.InvocationConfiguration.Error.WriteLine($"request id {derived} (derived from the request: the same command replays)");
        return request;
    }

    private static string ReadText(string path)
    {
        try
        {
            return path == "-" ? Console.In.ReadToEnd() : File.ReadAllText(InputPath.File(path, "the file"));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new UsageException($"cannot read {path}: {ex.Message}");
        }
    }
}
