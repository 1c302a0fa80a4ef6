using System.Diagnostics;
using Grpc.Core;
using Identity.V1;

namespace Identity.Cli.Import;

/// <summary>What one run of <c>identity import</c> needs besides the server.</summary>
internal sealed record ImportPlan(
    InputFile File,
    ImportHeader Header,
    ColumnMap Columns,
    ChannelAliases Channels,
    string RejectsPath,
    string CheckpointPath,
    bool Resume,
    int BatchSize,
    int InFlight);

/// <summary>How far a run got, for the progress bar and the summary.</summary>
internal sealed record ImportProgress(long RowsRead, long RowsAnswered, long BytesRead, long FileLength, TimeSpan Elapsed)
{
    public double RowsPerSecond => Elapsed.TotalSeconds > 0 ? RowsAnswered / Elapsed.TotalSeconds : 0;

    /// <summary>
    /// The bytes of the file the answered rows take, estimated from the bytes per row read so far: the reader runs ahead
    /// of the answers by its buffers and the batches on the wire, which would end a small file's bar at once.
    /// </summary>
    public long BytesAnswered => RowsRead > 0 ? Math.Min(FileLength, (long)((double)BytesRead / RowsRead * RowsAnswered)) : 0;
}

internal enum ImportEnd
{
    Completed,
    Cancelled,
    ConnectionLost,
    /// <summary>The server refused the import (its status says why).</summary>
    Failed,
}

internal sealed record ImportOutcome(ImportEnd End, ImportTotals Totals, long RowsSentThisRun, long SkippedRows, long AcknowledgedThroughRow,
    long RejectsWritten, TimeSpan Elapsed, RpcException? Error, bool LostEarlierRejects = false);

/// <summary>
/// One <c>ImportMembers</c> stream: the header, then the file's records in batches. Up to <see cref="ImportPlan.InFlight"/>
/// batches are on the wire unanswered, so the server always has the next one when it finishes one; answers are read
/// concurrently and come back in order, which makes "every row up to N is answered" a single number, saved as the
/// checkpoint.
/// </summary>
internal sealed class ImportRun(ImportPlan plan, ImportService.ImportServiceClient client, Action<ImportProgress>? onProgress)
{
    private static readonly TimeSpan CheckpointInterval = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The most bytes a batch is sent with (ImportService takes messages up to 4 MiB): a batch of long rows is closed
    /// early rather than refused whole, which would end the import.
    /// </summary>
    internal const int MaxBatchBytes = 3 * 1024 * 1024;

    /// <summary>
    /// Values are sent cut to this many characters. Every field's limit is far below it (the longest, the row key and
    /// the ids, are 128), so a longer value is rejected all the same, and a row cannot outgrow a batch. The reject
    /// report keeps the value as written.
    /// </summary>
    internal const int MaxValueChars = 1024;

    private sealed record SentBatch(long FirstRow, long LastRow, List<(long Number, string[] Values)> Records);

    public async Task<ImportOutcome> RunAsync(CancellationToken stop)
    {
        var started = Stopwatch.StartNew();
        var previous = plan.Resume ? ImportCheckpoint.Read(plan.CheckpointPath) : null;
        var skipThrough = previous is { } p && p.ImportId == plan.Header.ImportId && p.FileSha256 == plan.File.Sha256 ? p.AcknowledgedThroughRow : 0;
        var dryRun = plan.Header.Options?.DryRun == true;

        using var records = new CsvRecords(plan.File);
        var converter = new RowConverter(plan.Columns.Bind(records.Headers), plan.Channels, RowConverter.ChinaStandardTime);
        using var rejects = RejectReport.Create(plan.RejectsPath, records.Headers,
            skipThrough > 0 ? (previous!.RejectsLength, previous.RejectsWritten) : null);

        // Ctrl-C stops the reading of new rows; the call itself lives until the batches on the wire are answered.
        using var abort = new CancellationTokenSource();
        using var call = client.ImportMembers(new CallOptions(cancellationToken: abort.Token));
        var sent = System.Threading.Channels.Channel.CreateUnbounded<SentBatch>(new System.Threading.Channels.UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        using var window = new SemaphoreSlim(plan.InFlight, plan.InFlight);

        var totals = new ImportTotals();
        long acknowledged = skipThrough, rowsRead = 0, rowsAnswered = 0, sentRows = 0, bytesRead = 0;
        var lastCheckpoint = Stopwatch.StartNew();
        // Called where no answer is being written to the report: the report's length then matches the rows answered.
        void SaveCheckpoint()
        {
            var length = rejects.Flush();
            if (!dryRun)
                new ImportCheckpoint(plan.Header.ImportId, plan.File.Sha256, Interlocked.Read(ref acknowledged), length, rejects.Written)
                    .Write(plan.CheckpointPath);
        }

        var answers = Task.Run(async () =>
        {
            await foreach (var response in call.ResponseStream.ReadAllAsync(CancellationToken.None))
            {
                if (!sent.Reader.TryRead(out var batch))
                    throw new RpcException(new Status(StatusCode.Internal, "The server answered a batch that was not sent."));
                var originals = batch.Records.ToDictionary(r => r.Number, r => r.Values);
                foreach (var outcome in response.Outcomes)
                {
                    if (outcome.Rejected is { } rejected)
                        rejects.Add(outcome.RowNumber, rejected.Field, rejected.Reason, Detail(rejected),
                            originals.TryGetValue(outcome.RowNumber, out var values) ? values : []);
                }
                totals = response.Totals ?? totals;
                Interlocked.Exchange(ref acknowledged, batch.LastRow);
                Interlocked.Add(ref rowsAnswered, batch.Records.Count);
                window.Release();
                if (lastCheckpoint.Elapsed >= CheckpointInterval)
                {
                    SaveCheckpoint();
                    lastCheckpoint.Restart();
                }
                onProgress?.Invoke(new ImportProgress(Interlocked.Read(ref rowsRead), Interlocked.Read(ref rowsAnswered),
                    Interlocked.Read(ref bytesRead), plan.File.Length, started.Elapsed));
            }
        });

        // Waiting for room in the window ends when the answers do: a refused import releases nothing.
        using var answersEnded = new CancellationTokenSource();
        _ = answers.ContinueWith(_ => answersEnded.Cancel(), TaskScheduler.Default);

        RpcException? failure = null;
        var end = ImportEnd.Completed;
        try
        {
            await call.RequestStream.WriteAsync(new ImportMembersRequest { Header = plan.Header }, CancellationToken.None);
            var batch = new List<(long Number, string[] Values)>(plan.BatchSize);
            var message = new ImportBatch();
            var messageBytes = 0;
            foreach (var record in records.Read(skipThrough))
            {
                if (stop.IsCancellationRequested || answers.IsCompleted)
                    break;
                var row = converter.Convert(record.Number, Capped(record.Values));
                var rowBytes = row.CalculateSize() + 8; // the field's tag and length
                if (batch.Count > 0 && messageBytes + rowBytes > MaxBatchBytes)
                {
                    await SendAsync(batch, message);
                    (batch, message, messageBytes) = (new(plan.BatchSize), new ImportBatch(), 0);
                }
                batch.Add(record);
                message.Rows.Add(row);
                messageBytes += rowBytes;
                Interlocked.Increment(ref rowsRead);
                Interlocked.Exchange(ref bytesRead, records.BytesRead); // read here, on the reader's thread
                if (batch.Count == plan.BatchSize)
                {
                    await SendAsync(batch, message);
                    (batch, message, messageBytes) = (new(plan.BatchSize), new ImportBatch(), 0);
                }
            }
            if (batch.Count > 0 && !stop.IsCancellationRequested && !answers.IsCompleted)
                await SendAsync(batch, message);
            sent.Writer.Complete();
            if (!answers.IsCompleted)
                await call.RequestStream.CompleteAsync();
            await answers;
            if (stop.IsCancellationRequested)
                end = ImportEnd.Cancelled;
        }
        catch (Exception ex) when (ex is RpcException or InvalidOperationException or IOException or OperationCanceledException)
        {
            // A write fails when the call is already over; the answers task holds the status that ended it.
            failure = await AnswersFailure(answers) ?? ex as RpcException ?? new RpcException(new Status(StatusCode.Unavailable, ex.Message));
            end = stop.IsCancellationRequested ? ImportEnd.Cancelled
                : failure.StatusCode == StatusCode.Unavailable
                  || failure.StatusCode is StatusCode.Cancelled or StatusCode.Internal or StatusCode.Unknown && !HasServerDetails(failure)
                    ? ImportEnd.ConnectionLost
                    : ImportEnd.Failed;
            abort.Cancel();
            try
            {
                await answers; // it owns the report until it ends
            }
            catch (Exception ended) when (ended is RpcException or IOException or InvalidOperationException or OperationCanceledException)
            {
            }
        }

        SaveCheckpoint();
        return new ImportOutcome(end, totals, sentRows, skipThrough, Interlocked.Read(ref acknowledged), rejects.Written, started.Elapsed, failure,
            rejects.LostEarlierRejects);

        async Task SendAsync(List<(long Number, string[] Values)> batch, ImportBatch message)
        {
            await window.WaitAsync(answersEnded.Token);
            sent.Writer.TryWrite(new SentBatch(batch[0].Number, batch[^1].Number, batch));
            await call.RequestStream.WriteAsync(new ImportMembersRequest { Batch = message }, CancellationToken.None);
            sentRows += batch.Count;
        }
    }

    /// <summary>The record's values, each cut to <see cref="MaxValueChars"/> (the same array when none is longer).</summary>
    internal static string[] Capped(string[] values) =>
        values.Any(v => v.Length > MaxValueChars) ? [.. values.Select(Cut)] : values;

    private static string Cut(string value) =>
        value.Length <= MaxValueChars ? value : value[..(char.IsHighSurrogate(value[MaxValueChars - 1]) ? MaxValueChars - 1 : MaxValueChars)];

    private static async Task<RpcException?> AnswersFailure(Task answers)
    {
        try
        {
            await answers.WaitAsync(TimeSpan.FromSeconds(10));
            return null;
        }
        catch (RpcException ex)
        {
            return ex;
        }
        catch (Exception ex) when (ex is TimeoutException or IOException or InvalidOperationException)
        {
            return new RpcException(new Status(StatusCode.Unavailable, ex.Message));
        }
    }

    /// <summary>A status the server wrote itself (it carries google.rpc details); a cut connection has none.</summary>
    private static bool HasServerDetails(RpcException ex) => ex.Trailers.Any(t => t.Key == "grpc-status-details-bin");

    private static string Detail(ImportRejected rejected) =>
        rejected.OwnerMemberId.Length > 0 ? $"{rejected.Detail} (owner {rejected.OwnerMemberId})" : rejected.Detail;
}
