using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Grpc.Health.V1;

namespace Identity.LoadTest;

internal static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>The server failed (seed errors, not SERVING in time).</summary>
    public const int Failed = 1;
    public const int Usage = 2;
    public const int Cancelled = 130;
}

internal static class Commands
{
    public static Command Seed()
    {
        var server = Options.Server();
        var members = Options.Int("--members", "How many members to enrol (indexes 0..N-1)", 100_000, 1, SeededMembers.MaxMembers);
        var concurrency = Options.Int("--concurrency", "Calls in flight while seeding", 32, 1, 1024);
        var connections = Options.Int("--connections", "HTTP/2 connections", 2, 1, 64);
        var deadline = Options.Duration("--deadline", "Deadline of each call", TimeSpan.FromSeconds(10));
        var key = new ClientKeyOptions();
        var command = new Command("seed", "Enrol N members through EnrollMember, each with a deterministic phone (139 + 8-digit index) and mini-program openid; idempotent");
        command.Options.Add(server);
        command.Options.Add(members);
        command.Options.Add(concurrency);
        command.Options.Add(connections);
        command.Options.Add(deadline);
        key.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var count = parse.GetValue(members);
            if (!key.TryRead(parse, out var keyValue, out var keyProblem))
            {
                error.WriteLine($"seed: {keyProblem}");
                return ExitCodes.Usage;
            }
            using var pool = new ChannelPool(parse.GetValue(server)!, parse.GetValue(connections), keyValue);
            try
            {
                var outcome = await Seeder.RunAsync(pool, count, parse.GetValue(concurrency), parse.GetValue(deadline), error, cancellationToken);
                var seconds = Math.Max(outcome.Elapsed.TotalSeconds, 0.001);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"seeded {count} members in {seconds:0.0} s ({count / seconds:0}/s): {outcome.Created} created, {outcome.Existing} existing, {outcome.Failed} failed"));
                foreach (var failure in outcome.FirstFailures)
                {
                    error.WriteLine("  " + failure);
                }
                if (outcome.Failed > 0 && keyValue is null)
                {
                    error.WriteLine($"  no key was sent: pass --key or --key-file (env {ClientKeyOptions.KeyVariable} / {ClientKeyOptions.KeyFileVariable})");
                }
                return outcome.Failed == 0 ? ExitCodes.Ok : ExitCodes.Failed;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                error.WriteLine("cancelled");
                return ExitCodes.Cancelled;
            }
            catch (RpcException ex)
            {
                error.WriteLine($"seed: {StatusCodes.Name(ex.StatusCode)} {ex.Status.Detail}");
                if (ex.StatusCode == StatusCode.Unauthenticated && keyValue is null)
                {
                    error.WriteLine($"  no key was sent: pass --key or --key-file (env {ClientKeyOptions.KeyVariable} / {ClientKeyOptions.KeyFileVariable})");
                }
                return ExitCodes.Failed;
            }
        });
        return command;
    }

    public static Command Run()
    {
        var server = Options.Server();
        var scenarios = new Option<string[]>("--scenario")
        {
            Description = "Scenario(s) to run in order, comma-separated: " + string.Join(", ", Scenario.All.Select(s => s.Name)),
            HelpName = "name",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
            CustomParser = result =>
            {
                var names = result.Tokens.SelectMany(token => token.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray();
                foreach (var name in names.Where(name => Scenario.Find(name) is null))
                {
                    result.AddError($"--scenario: unknown scenario '{name}'; expected one of {string.Join(", ", Scenario.All.Select(s => s.Name))}");
                }
                if (names.Length == 0)
                {
                    result.AddError("--scenario: name at least one scenario");
                }
                return names;
            },
        };
        var duration = Options.Duration("--duration", "Measured time per scenario, after the warm-up", TimeSpan.FromSeconds(20));
        var warmup = Options.Duration("--warmup", "Unmeasured time before each scenario's measurement", TimeSpan.FromSeconds(3), allowZero: true);
        var inFlight = Options.Int("--in-flight", "Calls in flight at all times (closed-loop workers)", 64, 1, 4096);
        var connections = Options.Int("--connections", "HTTP/2 connections (one GrpcChannel each), used round-robin", 4, 1, 64);
        var members = Options.Int("--members", "How many members were seeded (keys are drawn from 0..N-1)", 100_000, 1, SeededMembers.MaxMembers);
        var zipf = new Option<double>("--zipf")
        {
            Description = "Zipf exponent of the key distribution (0 = uniform; hot keys are low indexes)",
            HelpName = "s",
            DefaultValueFactory = _ => 1.0,
        };
        zipf.Validators.Add(result =>
        {
            var value = result.GetValueOrDefault<double>();
            if (!(value >= 0 && value <= 10))
            {
                result.AddError(string.Create(CultureInfo.InvariantCulture, $"--zipf must be between 0 and 10, not {value}"));
            }
        });
        var seed = Options.Int("--seed", "Seed of the workers' random streams (same seed, same key sequence)", 42, int.MinValue, int.MaxValue);
        var deadline = Options.Duration("--deadline", "Deadline of each call", TimeSpan.FromSeconds(5));
        var json = new Option<string>("--json")
        {
            Description = "Also append one JSON object per scenario, one per line (JSON Lines), to this file; '-' for standard output",
            HelpName = "file",
        };
        var markMeasuring = new Option<string>("--mark-measuring")
        {
            Description = "Append a line (the scenario's name) to this file the moment each scenario's measured window opens, after its warm-up",
            HelpName = "file",
        };
        var key = new ClientKeyOptions();
        var command = new Command("run", "Drive one or more scenarios with a fixed number of calls in flight and print throughput and latency");
        foreach (var option in new Option[] { server, scenarios, duration, warmup, inFlight, connections, members, zipf, seed, deadline, json, markMeasuring })
        {
            command.Options.Add(option);
        }
        key.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            if (!key.TryRead(parse, out var keyValue, out var keyProblem))
            {
                error.WriteLine($"run: {keyProblem}");
                return ExitCodes.Usage;
            }
            if (keyValue is null && parse.GetValue(scenarios)!.Any(name => !string.Equals(name, "health", StringComparison.OrdinalIgnoreCase)))
            {
                error.WriteLine($"run: no key (--key, --key-file, env {ClientKeyOptions.KeyVariable} / {ClientKeyOptions.KeyFileVariable}): a server that requires keys answers every call but health with UNAUTHENTICATED");
            }
            var settings = new RunSettings(parse.GetValue(inFlight), parse.GetValue(warmup), parse.GetValue(duration), parse.GetValue(deadline), parse.GetValue(seed));
            var memberCount = parse.GetValue(members);
            var exponent = parse.GetValue(zipf);
            var jsonPath = parse.GetValue(json);
            var markPath = parse.GetValue(markMeasuring);
            var keys = new ZipfKeys(memberCount, exponent);
            using var pool = new ChannelPool(parse.GetValue(server)!, parse.GetValue(connections), keyValue);
            error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"run: {settings.InFlight} in flight over {pool.Count} connections, {memberCount} members, zipf {exponent} (top 1% of keys = {keys.ShareOfTop(Math.Max(1, memberCount / 100)):P0} of calls), warm-up {Durations.Format(settings.Warmup)}, measure {Durations.Format(settings.Duration)}"));
            try
            {
                await pool.ConnectAsync(TimeSpan.FromSeconds(5), cancellationToken);
                output.WriteLine(ScenarioResult.Header);
                foreach (var name in parse.GetValue(scenarios)!)
                {
                    var scenario = Scenario.Find(name)!;
                    // A fresh tag per scenario run: workers number their order ids from 1 again.
                    var context = new LoadContext(pool, keys, Convert.ToHexStringLower(BitConverter.GetBytes(Random.Shared.NextInt64()))[..12]);
                    Action? measuring = string.IsNullOrEmpty(markPath) ? null : () => File.AppendAllText(markPath, scenario.Name + "\n");
                    var result = await RunOneAsync(scenario, context, settings, measuring, cancellationToken);
                    output.WriteLine(result.ToLine());
                    var line = result.ToJson(pool.Count, memberCount, exponent, settings.Seed);
                    if (jsonPath == "-")
                    {
                        output.WriteLine(line);
                    }
                    else if (!string.IsNullOrEmpty(jsonPath))
                    {
                        await File.AppendAllTextAsync(jsonPath, line + "\n", CancellationToken.None);
                    }
                }
                return ExitCodes.Ok;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                error.WriteLine("cancelled");
                return ExitCodes.Cancelled;
            }
        });
        return command;
    }

    private static Task<ScenarioResult> RunOneAsync(Scenario scenario, LoadContext context, RunSettings settings, Action? measuring, CancellationToken cancellationToken)
    {
        var total = (settings.Warmup + settings.Duration).TotalSeconds;
        var lastTime = TimeSpan.Zero;
        var lastCompleted = 0L;
        var rate = 0.0;
        return Live.RunAsync(scenario.Name, total, plainLines: false, report => LoadRunner.RunAsync(scenario, context, settings, progress =>
        {
            var span = (progress.Elapsed - lastTime).TotalSeconds;
            if (span >= 1)
            {
                rate = (progress.Completed - lastCompleted) / span;
                lastTime = progress.Elapsed;
                lastCompleted = progress.Completed;
            }
            var phase = progress.Measuring ? "measuring" : "warm-up";
            report(progress.Elapsed.TotalSeconds, string.Create(CultureInfo.InvariantCulture,
                $"{scenario.Name} ({settings.InFlight} in flight) {phase}, {rate:N0} calls/s"));
        }, cancellationToken, measuring));
    }

    public static Command Wait()
    {
        var server = Options.Server();
        var timeout = Options.Duration("--timeout", "Give up after this long", TimeSpan.FromSeconds(60));
        var command = new Command("wait", "Wait until the server's grpc.health.v1 Check answers SERVING");
        command.Options.Add(server);
        command.Options.Add(timeout);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            var limit = parse.GetValue(timeout);
            using var pool = new ChannelPool(parse.GetValue(server)!, 1);
            var clock = Stopwatch.StartNew();
            var last = "no answer";
            while (clock.Elapsed < limit && !cancellationToken.IsCancellationRequested)
            {
                try
                {
                    var response = await pool.Health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(1), cancellationToken: cancellationToken);
                    if (response.Status == HealthCheckResponse.Types.ServingStatus.Serving)
                    {
                        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"SERVING after {clock.Elapsed.TotalSeconds:0.0} s"));
                        return ExitCodes.Ok;
                    }
                    last = response.Status.ToString();
                }
                catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
                {
                    last = StatusCodes.Name(ex.StatusCode);
                }
                try
                {
                    await Task.Delay(200, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
            if (cancellationToken.IsCancellationRequested)
            {
                error.WriteLine("cancelled");
                return ExitCodes.Cancelled;
            }
            error.WriteLine($"not SERVING after {Durations.Format(limit)} (last: {last})");
            return ExitCodes.Failed;
        });
        return command;
    }
}
