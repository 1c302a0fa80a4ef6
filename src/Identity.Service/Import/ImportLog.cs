namespace Identity.Service.Hosting;

// The import's log lines, beside the rest of Log: ids, counts and flags only, never a row's values.
public static partial class Log
{
    [LoggerMessage(90, LogLevel.Information, "Import {ImportId} opened (dry run: {DryRun}).")]
    public static partial void ImportOpened(ILogger logger, string importId, bool dryRun);

    [LoggerMessage(91, LogLevel.Information, "Import {ImportId} stream closed: {Rows} rows so far, {Accepted} accepted, {Rejected} rejected.")]
    public static partial void ImportClosed(ILogger logger, string importId, long rows, long accepted, long rejected);

    [LoggerMessage(92, LogLevel.Information, "Import {ImportId}: a batch met a concurrent write ({SqlState}) on attempt {Attempt} and is classified and written again.")]
    public static partial void ImportBatchRedone(ILogger logger, string importId, int attempt, string sqlState);
}
