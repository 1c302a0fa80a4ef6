using System.Diagnostics;
using Grpc.Core;
using HdrHistogram;

namespace Identity.LoadTest;

internal sealed record RunSettings(
    int InFlight,
    TimeSpan Warmup,
    TimeSpan Duration,
    TimeSpan Deadline,
    int Seed);

/// <summary>A snapshot of a running scenario, for progress display.</summary>
internal readonly record struct RunProgress(TimeSpan Elapsed, TimeSpan Total, bool Measuring, long Completed);

/// <summary>
/// Drives one scenario as a closed loop: a fixed number of workers, each with one call in flight, issuing the next
/// call as soon as the previous one ends. Calls that complete inside the measurement window (after the warm-up, before
/// the end) are counted: successes go into a latency histogram, failures are counted by status code. No worker starts
/// a call after the end; the last calls finish (bounded by the deadline) and are not counted.
/// </summary>
internal static class LoadRunner
{
    /// <summary>Latencies are recorded in microseconds, 1 µs to 10 min, 3 significant digits (0.1% error).</summary>
    private const long HighestMicroseconds = 10L * 60 * 1_000_000;

    public static async Task<ScenarioResult> RunAsync(
        Scenario scenario,
        LoadContext context,
        RunSettings settings,
        Action<RunProgress>? progress,
        CancellationToken cancellationToken,
        Action? measuring = null)
    {
        var started = Stopwatch.GetTimestamp();
        var measureFrom = started + Ticks(settings.Warmup);
        var stopAt = measureFrom + Ticks(settings.Duration);
        // Tells the caller when the measured window opens (a script that acts a set time into the window uses it).
        var marked = measuring is null ? Task.CompletedTask : Task.Run(async () =>
        {
            var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), measureFrom);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, cancellationToken);
            }
            measuring();
        }, CancellationToken.None);

        // Workers share a few striped recorders instead of one each: a histogram is ~140 KB.
        var stripes = new Recorder[Math.Min(settings.InFlight, 16)];
        for (var i = 0; i < stripes.Length; i++)
        {
            stripes[i] = new Recorder();
        }
        var workers = new WorkerState[settings.InFlight];
        for (var i = 0; i < workers.Length; i++)
        {
            workers[i] = new WorkerState(i, settings.Seed);
        }

        var loops = workers
            .Select(worker => Task.Run(() => LoopAsync(scenario, context, worker, stripes[worker.Id % stripes.Length], settings.Deadline, measureFrom, stopAt, cancellationToken), CancellationToken.None))
            .ToArray();
        var all = Task.WhenAll(loops);
        var total = settings.Warmup + settings.Duration;
        while (!all.IsCompleted)
        {
            await Task.WhenAny(all, Task.Delay(250, CancellationToken.None));
            if (progress is not null)
            {
                var now = Stopwatch.GetTimestamp();
                var completed = workers.Sum(worker => Volatile.Read(ref worker.Completed));
                progress(new RunProgress(Stopwatch.GetElapsedTime(started, now), total, now >= measureFrom, completed));
            }
        }
        await all;
        cancellationToken.ThrowIfCancellationRequested();
        await marked;

        var histogram = new LongHistogram(1, HighestMicroseconds, 3);
        var errors = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var stripe in stripes)
        {
            histogram.Add(stripe.Histogram);
            foreach (var (code, count) in stripe.Errors)
            {
                errors[code] = errors.GetValueOrDefault(code) + count;
            }
        }
        return ScenarioResult.From(scenario.Name, settings, histogram, errors);
    }

    private static async Task LoopAsync(
        Scenario scenario,
        LoadContext context,
        WorkerState worker,
        Recorder recorder,
        TimeSpan deadline,
        long measureFrom,
        long stopAt,
        CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var begin = Stopwatch.GetTimestamp();
            if (begin >= stopAt)
            {
                return;
            }
            string? error = null;
            try
            {
                await scenario.CallAsync(context, worker, new CallOptions(deadline: DateTime.UtcNow + deadline, cancellationToken: cancellationToken));
            }
            catch (RpcException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException ex)
            {
                error = StatusCodes.Name(ex.StatusCode);
            }
            catch (NotServingException)
            {
                error = "NOT_SERVING";
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or InvalidOperationException)
            {
                error = ex.GetType().Name;
            }
            var end = Stopwatch.GetTimestamp();
            Volatile.Write(ref worker.Completed, worker.Completed + 1);
            if (end >= measureFrom && end < stopAt)
            {
                recorder.Record(Stopwatch.GetElapsedTime(begin, end), error);
            }
            else if (error is not null && end < measureFrom)
            {
                // Failing fast in the warm-up (server down): do not spin.
                await Task.Delay(10, CancellationToken.None);
            }
        }
    }

    private static long Ticks(TimeSpan span) => (long)(span.TotalSeconds * Stopwatch.Frequency);

    private sealed class Recorder
    {
        private readonly Lock gate = new();

        public LongHistogram Histogram { get; } = new(1, HighestMicroseconds, 3);

        public Dictionary<string, long> Errors { get; } = new(StringComparer.Ordinal);

        public void Record(TimeSpan latency, string? error)
        {
            lock (gate)
            {
                if (error is null)
                {
                    var micros = (long)Math.Round(latency.TotalMicroseconds);
                    Histogram.RecordValue(Math.Clamp(micros, 1, HighestMicroseconds));
                }
                else
                {
                    Errors[error] = Errors.GetValueOrDefault(error) + 1;
                }
            }
        }
    }
}

/// <summary>gRPC status codes as the gRPC documentation spells them (DEADLINE_EXCEEDED).</summary>
internal static class StatusCodes
{
    public static string Name(StatusCode code)
    {
        var pascal = code.ToString();
        var builder = new System.Text.StringBuilder(pascal.Length + 4);
        for (var i = 0; i < pascal.Length; i++)
        {
            if (i > 0 && char.IsUpper(pascal[i]) && !char.IsUpper(pascal[i - 1]))
            {
                builder.Append('_');
            }
            builder.Append(char.ToUpperInvariant(pascal[i]));
        }
        return builder.ToString();
    }
}
