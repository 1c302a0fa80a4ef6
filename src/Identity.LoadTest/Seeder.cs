using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Identity.V1;

namespace Identity.LoadTest;

/// <summary>
/// Enrols members 0..N-1 through the public API, as a POS at store S001 would: EnrollMember with the member's phone
/// and mini-program openid (see <see cref="SeededMembers"/>). Idempotent: an existing member comes back with
/// <c>created = false</c>. When a sample shows the members are mostly there already, each member is first looked up
/// by openid (a read, which runs in parallel) and only enrolled when missing, so a repeated seed is quick.
/// </summary>
internal static class Seeder
{
    private const int Attempts = 5;
    private const int SampleSize = 64;

    public sealed record Outcome(long Created, long Existing, long Failed, TimeSpan Elapsed, IReadOnlyList<string> FirstFailures);

    public static async Task<Outcome> RunAsync(
        ChannelPool pool, int members, int concurrency, TimeSpan deadline, TextWriter log, CancellationToken cancellationToken)
    {
        var lookupFirst = await MostlySeededAsync(pool, members, deadline, cancellationToken);
        log.WriteLine(lookupFirst
            ? "seed: a sample of the members exists already; looking each one up first and enrolling only the missing"
            : "seed: enrolling every member (EnrollMember is idempotent)");

        long next = -1, created = 0, existing = 0, failed = 0;
        var failures = new ConcurrentQueue<string>();
        var clock = Stopwatch.StartNew();
        string Describe(long done) => string.Create(CultureInfo.InvariantCulture,
            $"seed {done:N0}/{members:N0} members, {done / Math.Max(clock.Elapsed.TotalSeconds, 0.001):N0}/s");

        await Live.RunAsync("seed", members, plainLines: true, async report =>
        {
            async Task WorkerAsync()
            {
                long index;
                while ((index = Interlocked.Increment(ref next)) < members && !cancellationToken.IsCancellationRequested)
                {
                    try
                    {
                        var wasCreated = await SeedOneAsync(pool, (int)index, lookupFirst, deadline, cancellationToken);
                        Interlocked.Increment(ref wasCreated ? ref created : ref existing);
                    }
                    catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
                    {
                        Interlocked.Increment(ref failed);
                        if (failures.Count < 5)
                        {
                            failures.Enqueue(string.Create(CultureInfo.InvariantCulture,
                                $"member {index} ({SeededMembers.Phone((int)index)}): {StatusCodes.Name(ex.StatusCode)} {ex.Status.Detail}"));
                        }
                    }
                    var done = Interlocked.Read(ref created) + Interlocked.Read(ref existing) + Interlocked.Read(ref failed);
                    report(done, Describe(done));
                }
            }

            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(WorkerAsync, CancellationToken.None)));
            return 0;
        });
        cancellationToken.ThrowIfCancellationRequested();
        return new Outcome(created, existing, failed, clock.Elapsed, [.. failures]);
    }

    /// <summary>True when most of an evenly spread sample of the members resolves by openid.</summary>
    private static async Task<bool> MostlySeededAsync(ChannelPool pool, int members, TimeSpan deadline, CancellationToken cancellationToken)
    {
        var sample = Enumerable.Range(0, Math.Min(SampleSize, members))
            .Select(i => (int)((long)i * members / Math.Min(SampleSize, members)))
            .Distinct()
            .ToArray();
        var found = await Task.WhenAll(sample.Select(index => ExistsAsync(pool, index, deadline, cancellationToken)));
        return found.Count(exists => exists) * 2 > sample.Length;
    }

    private static async Task<bool> ExistsAsync(ChannelPool pool, int index, TimeSpan deadline, CancellationToken cancellationToken)
    {
        try
        {
            await WithRetriesAsync(() => pool.Members.ResolveMemberAsync(ByOpenId(index), Options(deadline, cancellationToken)).ResponseAsync, cancellationToken);
            return true;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            return false;
        }
    }

    /// <summary>Returns true when this call created the member.</summary>
    private static async Task<bool> SeedOneAsync(ChannelPool pool, int index, bool lookupFirst, TimeSpan deadline, CancellationToken cancellationToken)
    {
        if (lookupFirst && await ExistsAsync(pool, index, deadline, cancellationToken))
        {
            return false;
        }
        var request = new EnrollMemberRequest
        {
            Phone = SeededMembers.Phone(index),
            ChannelIdentity = new ChannelIdentity { Channel = Channel.WechatMiniProgram, ExternalId = SeededMembers.OpenId(index) },
            Source = new Touchpoint { Channel = Channel.Pos, StoreId = SeededMembers.StoreId },
        };
        var response = await WithRetriesAsync(() => pool.Members.EnrollMemberAsync(request, Options(deadline, cancellationToken)).ResponseAsync, cancellationToken);
        return response.Created;
    }

    private static ResolveMemberRequest ByOpenId(int index) => new()
    {
        ChannelIdentity = new ChannelIdentity { Channel = Channel.WechatMiniProgram, ExternalId = SeededMembers.OpenId(index) },
    };

    private static CallOptions Options(TimeSpan deadline, CancellationToken cancellationToken) =>
        new(deadline: DateTime.UtcNow + deadline, cancellationToken: cancellationToken);

    /// <summary>Retries what a busy or restarting server answers (the calls are idempotent), with a short backoff.</summary>
    private static async Task<T> WithRetriesAsync<T>(Func<Task<T>> call, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await call();
            }
            catch (RpcException ex) when (attempt < Attempts && !cancellationToken.IsCancellationRequested
                && ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Aborted or StatusCode.ResourceExhausted)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100 * attempt), cancellationToken);
            }
        }
    }
}
