using System.Diagnostics;
using Spectre.Console;

namespace Identity.LoadTest;

/// <summary>
/// Progress for long steps: a Spectre.Console bar on a terminal; on redirected output (scripts), a plain line on
/// standard error every few seconds, so logs stay readable and standard output keeps only results.
/// </summary>
internal static class Live
{
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(10);

    public static bool Interactive => !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Runs <paramref name="work"/>, which reports (value out of <paramref name="maxValue"/>, description).</summary>
    public static async Task<T> RunAsync<T>(string title, double maxValue, bool plainLines, Func<Action<double, string>, Task<T>> work)
    {
        if (!Interactive)
        {
            var last = Stopwatch.GetTimestamp();
            var gate = new Lock();
            return await work((_, description) =>
            {
                if (!plainLines)
                {
                    return;
                }
                lock (gate)
                {
                    if (Stopwatch.GetElapsedTime(last) < PlainInterval)
                    {
                        return;
                    }
                    last = Stopwatch.GetTimestamp();
                }
                Console.Error.WriteLine(description);
            });
        }

        return await AnsiConsole.Progress()
            .AutoClear(true)
            .HideCompleted(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(Markup.Escape(title), maxValue: maxValue);
                var result = await work((value, description) =>
                {
                    task.Value = Math.Min(value, maxValue);
                    task.Description = Markup.Escape(description);
                });
                task.Value = maxValue;
                return result;
            });
    }
}
