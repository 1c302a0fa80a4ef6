using System.CommandLine;
using Google.Protobuf;
using Identity.V1;

namespace Identity.Cli.Commands;

/// <summary><c>identity orders replay FILE.jsonl</c>: a till's queue of orders sent through RecordOrders.</summary>
internal static class OrderCommands
{
    /// <summary>RecordOrders takes at most this many orders per call.</summary>
    public const int BatchSize = 500;

    /// <summary>
    /// The most bytes a batch is sent with: LoyaltyService takes requests up to 1 MiB, so a batch of long orders goes in
    /// more calls rather than being refused whole.
    /// </summary>
    public const int MaxBatchBytes = 900 * 1024;

    public static IEnumerable<Command> Create(GlobalOptions globals)
    {
        var action = new RpcAction(globals);
        var file = new Argument<string>("file") { Description = "One RecordOrderRequest per line, in protobuf JSON; - reads standard input" };
        var replay = new Command("replay",
            "Record a queue of orders (e.g. a till that was offline) in batches of 500; each order is answered on its own, a repeat replays. " +
            "Prints each refused order and a summary; exit 1 when any order was refused");
        replay.Arguments.Add(file);
        action.Run(replay, async (parse, connection, cancellationToken) =>
        {
            var orders = Read(parse.GetRequiredValue(file));
            // Oldest first across the whole file, as they were paid: the server records each call in paid_at order, and a
            // later call never rewrites an earlier one, so a file in any order ends as recording each order live would.
            var sent = OldestFirst(orders);
            var inFileOrder = sent.SequenceEqual(Enumerable.Range(0, orders.Count));
            var all = new RecordOrdersResponse();
            foreach (var (start, request) in Batches(sent.Select(i => orders[i]).ToList()))
            {
                RecordOrdersResponse response;
                try
                {
                    response = await connection.Loyalty.RecordOrdersAsync(request, connection.CallOptions(cancellationToken));
                }
                catch (Grpc.Core.RpcException) when (start > 0)
                {
                    // The earlier calls were answered: say how far the file got, so the till's operator knows a rerun is safe.
                    parse.InvocationConfiguration.Error.WriteLine((inFileOrder
                        ? $"{Span(1, start)}: answered ({Output.Printer.Tally(all)}). The call with {Span(start + 1, start + request.Orders.Count)} failed: " +
                          $"orders from {start + 1} on may not be recorded."
                        : $"{start} of the file's {orders.Count} orders, oldest first, answered ({Output.Printer.Tally(all)}). The call with the next " +
                          $"{request.Orders.Count} failed: they and the {orders.Count - start - request.Orders.Count} after them may not be recorded.")
                        + " Run the same file again: orders already recorded replay.");
                    throw;
                }
                // Indexes in the file, from 0, rather than in the call.
                foreach (var result in response.Results)
                {
                    result.Index = sent[start + result.Index];
                    all.Results.Add(result);
                }
            }
            var inFile = new RecordOrdersResponse();
            inFile.Results.AddRange(all.Results.OrderBy(r => r.Index));
            return inFile;
        }, (_, printer, response) => printer.OrdersReplayed(response),
        response => response.Results.Any(r => r.Error is not null) ? ExitCodes.Problems : ExitCodes.Ok);
        yield return new Command("orders", "Orders in bulk") { replay };
    }

    static string Span(int first, int last) => first == last ? $"order {first}" : $"orders {first}-{last}";

    /// <summary>
    /// The file's indexes in the order the orders are sent: by <c>paid_at</c>, ties and orders without one (the server dates
    /// those at the call, after every dated order) in the file's order.
    /// </summary>
    internal static List<int> OldestFirst(IReadOnlyList<RecordOrderRequest> orders) =>
        [.. Enumerable.Range(0, orders.Count).OrderBy(i => orders[i].PaidAt is null)
            .ThenBy(i => orders[i].PaidAt?.Seconds ?? 0).ThenBy(i => orders[i].PaidAt?.Nanos ?? 0).ThenBy(i => i)];

    /// <summary>The orders in calls of at most <see cref="BatchSize"/> orders and <see cref="MaxBatchBytes"/> bytes, each with the index of its first order.</summary>
    internal static IEnumerable<(int Start, RecordOrdersRequest Request)> Batches(IReadOnlyList<RecordOrderRequest> orders)
    {
        var start = 0;
        var request = new RecordOrdersRequest();
        var bytes = 0;
        for (var i = 0; i < orders.Count; i++)
        {
            var size = orders[i].CalculateSize() + 8; // the field's tag and length
            if (request.Orders.Count == BatchSize || (request.Orders.Count > 0 && bytes + size > MaxBatchBytes))
            {
                yield return (start, request);
                (start, request, bytes) = (i, new RecordOrdersRequest(), 0);
            }
            request.Orders.Add(orders[i]);
            bytes += size;
        }
        if (request.Orders.Count > 0)
            yield return (start, request);
    }

    static List<RecordOrderRequest> Read(string path)
    {
        var parser = new JsonParser(JsonParser.Settings.Default);
        var orders = new List<RecordOrderRequest>();
        string[] lines;
        try
        {
            // Strict UTF-8: a GB18030 file read leniently would turn distinct Chinese order ids into the same replacement
            // characters, and two orders into one key.
            lines = path == "-" ? Console.In.ReadToEnd().Split('\n')
                : File.ReadAllLines(InputPath.File(path, "the orders file"), new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true));
        }
        catch (System.Text.DecoderFallbackException)
        {
            throw new UsageException($"{path} is not UTF-8 (protobuf JSON is UTF-8); convert it, e.g. iconv -f GB18030 -t UTF-8; nothing was sent");
        }
        catch (IOException ex)
        {
            throw new UsageException($"cannot read {path}: {ex.Message}");
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new UsageException($"cannot read {path}: {ex.Message}");
        }
        for (var i = 0; i < lines.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(lines[i]))
                continue;
            try
            {
                var order = parser.Parse<RecordOrderRequest>(lines[i]);
                if (order.CalculateSize() + 8 > MaxBatchBytes)
                    throw new UsageException($"line {i + 1}: the order is {order.CalculateSize():N0} bytes, more than a call takes ({MaxBatchBytes:N0}); nothing was sent");
                orders.Add(order);
            }
            catch (InvalidProtocolBufferException ex)
            {
                throw new UsageException($"line {i + 1}: not a RecordOrderRequest in protobuf JSON ({ex.Message}); nothing was sent");
            }
            catch (InvalidJsonException ex)
            {
                throw new UsageException($"line {i + 1}: not JSON ({ex.Message}); nothing was sent");
            }
        }
        if (orders.Count == 0)
            throw new UsageException($"{path} holds no orders");
        return orders;
    }
}
