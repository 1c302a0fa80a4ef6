using System.Globalization;
using Identity.Cli.Import;
using Spectre.Console;

namespace Identity.Cli.Output;

/// <summary>The end of an import: a summary table of the server's totals and this run's speed.</summary>
internal static class ImportPrinter
{
    public static void Summary(TextWriter output, ImportOutcome outcome, string importId, string rejectsPath, bool dryRun)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = ColorSystemSupport.Detect,
            Interactive = InteractionSupport.No,
        });
        var totals = outcome.Totals;
        var table = new Table().Title(dryRun ? $"import {importId} (dry run: nothing written)" : $"import {importId}")
            .AddColumn("outcome").AddColumn(new TableColumn("count").RightAligned());
        table.AddRow("rows", Number(totals.Rows));
        table.AddRow("created", Number(totals.Created));
        table.AddRow("merged", Number(totals.Merged));
        table.AddRow("already imported", Number(totals.AlreadyImported));
        table.AddRow("rejected", Number(totals.Rejected));
        foreach (var (reason, count) in totals.RejectedByReason.OrderByDescending(r => r.Value).ThenBy(r => r.Key, StringComparer.Ordinal))
            table.AddRow($"  {Markup.Escape(reason)}", Number(count));
        table.AddRow("points migrated", Number(totals.PointsMigrated));
        var rate = outcome.Elapsed.TotalSeconds > 0 ? outcome.RowsSentThisRun / outcome.Elapsed.TotalSeconds : 0;
        table.AddRow("this run", string.Create(CultureInfo.InvariantCulture,
            $"{outcome.RowsSentThisRun:N0} rows in {outcome.Elapsed.TotalSeconds:0.0}s, {rate:N0} rows/s"));
        if (outcome.SkippedRows > 0)
            table.AddRow("resumed after row", Number(outcome.SkippedRows));
        console.Write(table);
        if (outcome.RejectsWritten > 0)
            output.WriteLine($"rejected rows: {rejectsPath}");
    }

    private static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
}
