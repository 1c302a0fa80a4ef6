using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Grpc.Core;
using Identity.Service.Errors;
using Identity.Service.Hosting;
using Identity.Service.Storage;
using Identity.V1;
using Channel = System.Threading.Channels.Channel;

namespace Identity.Service.Import;

/// <summary>
/// <c>identity.v1.ImportService</c>: a header, then batches, each answered once it is committed (an answered row is
/// durable; a row sent again replays its first outcome). The next batch is read and checked while the current one is
/// written, so the store's single writer is kept busy. On SQLite the next batch is also queued for the writer before the
/// current one is answered: the single writer runs them in order (the next one reads what the current one wrote), and
/// never waits for an answer to be sent or for the next batch to be handed over.
/// </summary>
public sealed class ImportGrpcService(ImportDirectory imports, ImportBatchWriter writer, ImportStreams streams, IdentityStore store,
    ILogger<ImportGrpcService> logger)
    : ImportService.ImportServiceBase
{
    public override async Task ImportMembers(IAsyncStreamReader<ImportMembersRequest> requestStream, IServerStreamWriter<ImportMembersResponse> responseStream,
        ServerCallContext context)
    {
        var ct = context.CancellationToken;
        if (!await requestStream.MoveNext(ct))
            throw IdentityException.Invalid("header", "is required: the stream ended before its header");
        if (requestStream.Current.MessageCase != ImportMembersRequest.MessageOneofCase.Header)
            throw IdentityException.Invalid("header", "is required as the stream's first message");
        var session = ImportRequests.Read(requestStream.Current.Header);
        await imports.OpenAsync(session, ct);
        using var open = streams.Open(session.ImportId);
        Log.ImportOpened(logger, session.ImportId, session.DryRun);

        // Checked batches, or the failure that ends the stream once the batches before it are answered.
        var prepared = System.Threading.Channels.Channel.CreateBounded<(CheckedRow[]? Rows, ExceptionDispatchInfo? Failure)>(new BoundedChannelOptions(2) { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var reading = ReadAsync(requestStream, session, prepared.Writer, stop.Token);
        ImportMembersResponse? last = null;
        // On PostgreSQL each batch is a transaction of its own, run at once: a batch must see the one before it committed.
        // A dry run keeps its state in the session, batch after batch.
        var ahead = store.IsPostgres || session.DryRun ? 1 : 2;
        var writing = new Queue<Task<ImportMembersResponse>>(ahead);
        ExceptionDispatchInfo? failed = null;
        try
        {
            while (true)
            {
                // A batch is queued behind the one being written only when it has already arrived: a client that waits
                // for each answer before sending more gets it without waiting for a next batch.
                if (!prepared.Reader.TryRead(out var next))
                {
                    if (writing.Count > 0)
                    {
                        last = await writing.Dequeue();
                        await responseStream.WriteAsync(last, ct);
                        continue;
                    }
                    if (!await prepared.Reader.WaitToReadAsync(ct))
                        break;
                    continue;
                }
                failed = next.Failure;
                if (failed is not null)
                    break;
                writing.Enqueue(writer.ImportAsync(session, next.Rows!, ct));
                if (writing.Count < ahead)
                    continue;
                last = await writing.Dequeue();
                await responseStream.WriteAsync(last, ct);
            }
            // The batches written before a failure are answered first.
            while (writing.Count > 0)
            {
                last = await writing.Dequeue();
                await responseStream.WriteAsync(last, ct);
            }
            failed?.Throw();
        }
        finally
        {
            await stop.CancelAsync();
            await reading;
            // A batch still queued behind one that failed ends with the stream: its outcome is observed, not answered.
            foreach (var task in writing)
                await task.ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);
        }
        if (last is not null)
            Log.ImportClosed(logger, session.ImportId, last.Totals.Rows, last.Totals.Accepted, last.Totals.Rejected);
    }

    async Task ReadAsync(IAsyncStreamReader<ImportMembersRequest> requestStream, ImportSession session,
        ChannelWriter<(CheckedRow[]?, ExceptionDispatchInfo?)> batches, CancellationToken ct)
    {
        try
        {
            var index = 1;
            while (await requestStream.MoveNext(ct))
            {
                ImportRequests.Check(requestStream.Current, index++);
                await batches.WriteAsync((writer.Prepare(session, requestStream.Current.Batch.Rows), null), ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The writing side ended (done, failed or cancelled): nothing more to read.
        }
        catch (Exception exception)
        {
            batches.TryWrite((null, ExceptionDispatchInfo.Capture(exception)));
        }
        finally
        {
            batches.TryComplete();
        }
    }

    public override Task<GetImportResponse> GetImport(GetImportRequest request, ServerCallContext context) =>
        imports.GetAsync(ImportRequests.Read(request), context.CancellationToken);
}
