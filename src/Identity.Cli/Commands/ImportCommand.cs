using System.CommandLine;
using System.Globalization;
using Grpc.Core;
using Identity.Cli.Import;
using Identity.Cli.Output;
using Identity.V1;
using Spectre.Console;

namespace Identity.Cli.Commands;

/// <summary><c>identity import FILE --source NAME</c>: a legacy export through ImportService/ImportMembers.</summary>
internal static class ImportCommand
{
    public const int DefaultBatchSize = 500;
    public const int MaxBatchSize = 1000;
    public const int DefaultInFlight = 4;

    public static Command Create(GlobalOptions globals)
    {
        var file = new Argument<string>("FILE") { Description = "CSV file (RFC 4180) with a header row" };
        var source = CliOptions.Text("--source", "Name of the legacy system, e.g. crm-2019 (with each row's source_row_key it keys the migrated points)", "name", required: true);
        var importId = CliOptions.Text("--import-id", "Import id (default: derived from --source and the file's content, so a re-run continues the same import)", "id");
        var map = new Option<string[]>("--map")
        {
            Description = $"field=Header: read a field from a differently named column, e.g. --map phone=手机号; repeatable. Fields: {string.Join(", ", ImportFields.All)}",
            HelpName = "field=Header",
        };
        var mapFile = CliOptions.Text("--map-file", "File of field=Header lines (# starts a comment); --map entries override it", "path");
        var channelAlias = new Option<string[]>("--channel-alias")
        {
            Description = "value=channel: a channel column value of this export, e.g. --channel-alias 小程序=wechat_mini_program; repeatable",
            HelpName = "value=channel",
        };
        var encoding = CliOptions.Text("--encoding", $"Encoding of the file: {InputFile.Utf8Name} (with or without BOM; default) or {InputFile.Gb18030Name} (also reads GBK)", "name");
        var dryRun = new Option<bool>("--dry-run") { Description = "Classify every row and report, but write nothing" };
        var pointsExpiry = new Option<PointsExpiryPolicy>("--points-expiry")
        {
            Description = "When migrated points expire: row-or-program (the row's points_expire_at, else the program's rule; default) or program",
            HelpName = "policy",
            CustomParser = result =>
            {
                var text = result.Tokens.Count == 1 ? result.Tokens[0].Value.Trim().ToLowerInvariant() : "";
                switch (text)
                {
                    case "row-or-program" or "row_or_program":
                        return PointsExpiryPolicy.RowOrProgram;
                    case "program":
                        return PointsExpiryPolicy.Program;
                    default:
                        result.AddError($"--points-expiry: '{text}' is not row-or-program or program");
                        return PointsExpiryPolicy.Unspecified;
                }
            },
        };
        var resume = new Option<bool>("--resume") { Description = "Continue after the last row answered before an interruption (FILE.import-state.json)" };
        var rejectsPath = CliOptions.Text("--rejects", "Reject report CSV (default: FILE.rejects.csv)", "path");
        var batchSize = new Option<int>("--batch-size")
        {
            Description = $"Rows per batch, 1 to {MaxBatchSize}",
            HelpName = "n",
            DefaultValueFactory = _ => DefaultBatchSize,
        };
        batchSize.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > MaxBatchSize)
                r.AddError($"--batch-size must be between 1 and {MaxBatchSize}");
        });
        var inFlight = new Option<int>("--in-flight")
        {
            Description = "Batches sent ahead of their answers, 1 to 16",
            HelpName = "n",
            DefaultValueFactory = _ => DefaultInFlight,
        };
        inFlight.Validators.Add(r =>
        {
            if (r.GetValueOrDefault<int>() is < 1 or > 16)
                r.AddError("--in-flight must be between 1 and 16");
        });

        var command = new Command("import", "Import a legacy member export (CSV) through ImportService; safe to re-run, resumable")
        {
            file, source, importId, map, mapFile, channelAlias, encoding, dryRun, pointsExpiry, resume, rejectsPath, batchSize, inFlight,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            ConnectionSettings settings;
            ImportPlan plan;
            try
            {
                settings = globals.Read(parse);
                var path = parse.GetRequiredValue(file);
                var sourceName = parse.GetRequiredValue(source).Trim();
                if (sourceName.Length is 0 or > 64)
                    throw new UsageException("--source must be 1 to 64 characters");
                var columns = ColumnMap.Create(parse.GetValue(map) ?? [], parse.GetValue(mapFile));
                var channels = new ChannelAliases(parse.GetValue(channelAlias) ?? []);
                var input = InputFile.Open(path, parse.GetValue(encoding) ?? InputFile.Utf8Name, cancellationToken);
                var isDryRun = parse.GetValue(dryRun);
                var id = parse.GetValue(importId) ?? ImportIds.Derive(sourceName, input.Sha256, isDryRun);
                if (!ImportIds.IsValid(id))
                    throw new UsageException($"--import-id must be 1 to {ImportIds.MaxLength} characters of A-Z a-z 0-9 . _ : -");
                var header = new ImportHeader
                {
                    ImportId = id,
                    Source = sourceName,
                    Options = new ImportOptions
                    {
                        DryRun = isDryRun,
                        PointsExpiry = parse.IsGiven(pointsExpiry) ? parse.GetValue(pointsExpiry) : PointsExpiryPolicy.RowOrProgram,
                    },
                };
                var rejects = parse.GetValue(rejectsPath) ?? path + ".rejects.csv";
                RejectReport.CheckPath(rejects, path, ImportCheckpoint.PathFor(path));
                plan = new ImportPlan(input, header, columns, channels, rejects,
                    ImportCheckpoint.PathFor(path), parse.GetValue(resume), parse.GetValue(batchSize), parse.GetValue(inFlight));
            }
            catch (UsageException ex)
            {
                error.WriteLine($"error: {ex.Message}");
                return ExitCodes.Usage;
            }

            using var connection = new Connection(settings);
            ImportOutcome outcome;
            try
            {
                outcome = await RunAsync(plan, connection.Import, Live(output, settings.Json), cancellationToken);
            }
            catch (UsageException ex)
            {
                error.WriteLine($"error: {ex.Message}");
                return ExitCodes.Usage;
            }

            var dry = plan.Header.Options.DryRun;
            if (outcome.LostEarlierRejects)
                error.WriteLine($"warning: the reject report {plan.RejectsPath} was missing or shorter than at the checkpoint; it now holds " +
                                "the rejects of this run only (the totals below still count every one)");
            if (!dry && outcome.End != ImportEnd.Failed)
                outcome = await WithStoredTotalsAsync(outcome, connection, plan.Header.ImportId);
            if (outcome.End == ImportEnd.Failed && outcome.Error is { } refused)
            {
                ErrorPrinter.Write(error, refused, settings);
                return refused.StatusCode == StatusCode.Unavailable ? ExitCodes.Unreachable : ExitCodes.RpcError;
            }
            // A server that never answered has no totals worth a table: the message below is the whole story.
            var answered = outcome.End != ImportEnd.ConnectionLost || outcome.Totals.Rows > 0;
            if (settings.Json)
                JsonOutput.Write(output, outcome.Totals);
            else if (answered)
                ImportPrinter.Summary(output, outcome, plan.Header.ImportId, plan.RejectsPath, dry);

            var through = outcome.AcknowledgedThroughRow.ToString("N0", CultureInfo.InvariantCulture);
            switch (outcome.End)
            {
                case ImportEnd.Cancelled:
                    error.WriteLine($"stopped: every row through row {through} is answered; run the same command with --resume to continue");
                    return ExitCodes.Cancelled;
                case ImportEnd.ConnectionLost when !answered && outcome.AcknowledgedThroughRow == 0:
                    error.WriteLine($"error: the server at {settings.Server} could not be reached or answered nothing ({outcome.Error?.StatusCode}); no row was imported.");
                    error.WriteLine("  check --server and that the service is running, then run the same command again");
                    return ExitCodes.Unreachable;
                case ImportEnd.ConnectionLost:
                    error.WriteLine($"error: the connection to {settings.Server} was lost ({outcome.Error?.StatusCode}); every row through row {through} is answered.");
                    error.WriteLine("  nothing is lost or doubled: once the server is back, run the same command with --resume");
                    return ExitCodes.Unreachable;
                default:
                    return ExitCodes.Ok;
            }
        });
        return command;
    }

    /// <summary>
    /// The import's totals as the server keeps them (all runs, so a resume that had nothing left to send still shows the
    /// whole import); the stream's last totals when the server cannot be asked.
    /// </summary>
    private static async Task<ImportOutcome> WithStoredTotalsAsync(ImportOutcome outcome, Connection connection, string importId)
    {
        try
        {
            var stored = await connection.Import.GetImportAsync(new GetImportRequest { ImportId = importId }, connection.CallOptions(CancellationToken.None));
            return stored.Totals is { } totals ? outcome with { Totals = totals } : outcome;
        }
        catch (RpcException)
        {
            return outcome;
        }
    }

    /// <summary>The live progress bar is for a person at a terminal: never with --json or when output is redirected.</summary>
    private static bool Live(TextWriter output, bool json) =>
        !json && ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    private static async Task<ImportOutcome> RunAsync(ImportPlan plan, ImportService.ImportServiceClient client, bool live, CancellationToken stop)
    {
        if (!live)
            return await new ImportRun(plan, client, onProgress: null).RunAsync(stop);
        return await AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask("starting", maxValue: Math.Max(1, plan.File.Length));
                var outcome = await new ImportRun(plan, client, progress =>
                {
                    task.Value = Math.Min(progress.BytesAnswered, task.MaxValue);
                    task.Description = string.Create(CultureInfo.InvariantCulture,
                        $"{progress.RowsAnswered:N0} rows, {progress.RowsPerSecond:N0} rows/s");
                }).RunAsync(stop);
                task.Value = task.MaxValue;
                return outcome;
            });
    }
}
