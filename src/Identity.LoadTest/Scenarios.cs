using System.Globalization;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Health.V1;
using Identity.V1;

namespace Identity.LoadTest;

/// <summary>What every call of a run shares: the connections, the key distribution and a tag that makes ids unique.</summary>
internal sealed class LoadContext(ChannelPool pool, ZipfKeys keys, string runTag)
{
    public ChannelPool Pool { get; } = pool;

    public ZipfKeys Keys { get; } = keys;

    /// <summary>Random per scenario run, so order ids never repeat across runs against the same data.</summary>
    public string RunTag { get; } = runTag;

    /// <summary>The next member of the warm pass (every member in turn, shared by all workers).</summary>
    public long WarmCursor;
}

/// <summary>One closed-loop worker's own state: its random stream (seeded, so key sequences repeat) and its counters.</summary>
internal sealed class WorkerState(int id, int seed)
{
    public int Id { get; } = id;

    public Random Random { get; } = new(HashCode.Combine(seed, id));

    /// <summary>Numbers the worker's order ids.</summary>
    public long Sequence;

    /// <summary>Calls finished so far (read by the progress display).</summary>
    public long Completed;
}

/// <summary>Thrown when the health check answers, but not SERVING.</summary>
internal sealed class NotServingException(HealthCheckResponse.Types.ServingStatus status)
    : Exception($"health status {status}");

/// <summary>A named kind of call the load generator can drive.</summary>
internal sealed class Scenario(string name, string description, Func<LoadContext, WorkerState, CallOptions, Task> call)
{
    public string Name { get; } = name;

    public string Description { get; } = description;

    public Task CallAsync(LoadContext context, WorkerState worker, CallOptions options) => call(context, worker, options);

    public static IReadOnlyList<Scenario> All { get; } =
    [
        new("health", "grpc.health.v1 Check: the baseline (no storage, no domain)", HealthAsync),
        new("resolve-phone", "ResolveMember by phone with benefit_context {POS, store S001}", ResolvePhoneAsync),
        new("resolve-openid", "ResolveMember by mini-program openid", ResolveOpenIdAsync),
        new("order", "RecordOrder: unique order id, 100-50000 fen, paid now, at POS store S001", RecordOrderAsync),
        new("mix", "90% resolve-phone, 10% order", MixAsync),
        new("replay", $"RecordOrders: a till's queue of {ReplayBatch} orders (unique ids, paid within the last hour, in random order) per call; any refused order counts as an error",
            RecordOrdersAsync),
        new("unauthenticated", "ResolveMember by phone with a made-up key (a new one per call): UNAUTHENTICATED is the expected answer", UnauthenticatedAsync),
        new("warm", "Every member in turn (not Zipf), by phone with benefit_context and by openid: fills the caches before a measurement", WarmAsync),
    ];

    /// <summary>Orders per RecordOrders call in the replay scenario: orders/s is its calls/s times this.</summary>
    public const int ReplayBatch = 100;

    public static Scenario? Find(string name) =>
        All.FirstOrDefault(scenario => string.Equals(scenario.Name, name, StringComparison.OrdinalIgnoreCase));

    private static async Task HealthAsync(LoadContext context, WorkerState worker, CallOptions options)
    {
        var response = await context.Pool.Health.CheckAsync(new HealthCheckRequest(), options);
        if (response.Status != HealthCheckResponse.Types.ServingStatus.Serving)
        {
            throw new NotServingException(response.Status);
        }
    }

    private static async Task ResolvePhoneAsync(LoadContext context, WorkerState worker, CallOptions options)
    {
        var request = new ResolveMemberRequest
        {
            Phone = SeededMembers.Phone(context.Keys.Next(worker.Random)),
            BenefitContext = new BenefitContext { Channel = Channel.Pos, StoreId = SeededMembers.StoreId },
        };
        await context.Pool.Members.ResolveMemberAsync(request, options);
    }

    private static async Task ResolveOpenIdAsync(LoadContext context, WorkerState worker, CallOptions options)
    {
        var request = new ResolveMemberRequest
        {
            ChannelIdentity = new ChannelIdentity
            {
                Channel = Channel.WechatMiniProgram,
                ExternalId = SeededMembers.OpenId(context.Keys.Next(worker.Random)),
            },
        };
        await context.Pool.Members.ResolveMemberAsync(request, options);
    }

    private static async Task RecordOrderAsync(LoadContext context, WorkerState worker, CallOptions options)
    {
        var sequence = ++worker.Sequence;
        var request = new RecordOrderRequest
        {
            Member = new MemberKey { Phone = SeededMembers.Phone(context.Keys.Next(worker.Random)) },
            Channel = Channel.Pos,
            OrderId = string.Create(CultureInfo.InvariantCulture, $"lt-{context.RunTag}-{worker.Id}-{sequence}"),
            StoreId = SeededMembers.StoreId,
            AmountFen = worker.Random.Next(100, 50_001),
            PaidAt = Timestamp.FromDateTime(DateTime.UtcNow),
        };
        await context.Pool.Loyalty.RecordOrderAsync(request, options);
    }

    private static async Task RecordOrdersAsync(LoadContext context, WorkerState worker, CallOptions options)
    {
        var request = new RecordOrdersRequest();
        var now = DateTime.UtcNow;
        for (var i = 0; i < ReplayBatch; i++)
        {
            var sequence = ++worker.Sequence;
            request.Orders.Add(new RecordOrderRequest
            {
                Member = new MemberKey { Phone = SeededMembers.Phone(context.Keys.Next(worker.Random)) },
                Channel = Channel.Pos,
                OrderId = string.Create(CultureInfo.InvariantCulture, $"lr-{context.RunTag}-{worker.Id}-{sequence}"),
                StoreId = SeededMembers.StoreId,
                AmountFen = worker.Random.Next(100, 50_001),
                PaidAt = Timestamp.FromDateTime(now.AddSeconds(-worker.Random.Next(60, 3_600))),
            });
        }
        var response = await context.Pool.Loyalty.RecordOrdersAsync(request, options);
        if (response.Results.FirstOrDefault(r => r.Error is not null) is { } refused)
            throw new InvalidOperationException($"an order of the batch was refused: {refused.Error.Code} {refused.Error.Reason}");
    }

    private static async Task UnauthenticatedAsync(LoadContext context, WorkerState worker, CallOptions options)
    {
        var sequence = ++worker.Sequence;
        var headers = new Metadata { { "authorization", string.Create(CultureInfo.InvariantCulture, $"Bearer idk_made-up-{worker.Id}-{sequence}") } };
        try
        {
            await context.Pool.Anonymous.ResolveMemberAsync(new ResolveMemberRequest
            {
                Phone = SeededMembers.Phone(context.Keys.Next(worker.Random)),
                BenefitContext = new BenefitContext { Channel = Channel.Pos, StoreId = SeededMembers.StoreId },
            }, options.WithHeaders(headers));
            throw new InvalidOperationException("A made-up key was accepted.");
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unauthenticated)
        {
            // The expected refusal.
        }
    }

    private static async Task WarmAsync(LoadContext context, WorkerState worker, CallOptions options)
    {
        var index = (int)(Interlocked.Increment(ref context.WarmCursor) % context.Keys.Count);
        await context.Pool.Members.ResolveMemberAsync(new ResolveMemberRequest
        {
            Phone = SeededMembers.Phone(index),
            BenefitContext = new BenefitContext { Channel = Channel.Pos, StoreId = SeededMembers.StoreId },
        }, options);
        await context.Pool.Members.ResolveMemberAsync(new ResolveMemberRequest
        {
            ChannelIdentity = new ChannelIdentity { Channel = Channel.WechatMiniProgram, ExternalId = SeededMembers.OpenId(index) },
        }, options);
    }

    private static Task MixAsync(LoadContext context, WorkerState worker, CallOptions options) =>
        worker.Random.NextDouble() < 0.9
            ? ResolvePhoneAsync(context, worker, options)
            : RecordOrderAsync(context, worker, options);
}
