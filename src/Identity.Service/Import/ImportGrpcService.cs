using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Grpc.Core;
using Identity.Service.Errors;
using Identity.Service.Hosting;
using Identity.V1;
using Channel = System.Threading.Channels.Channel;

namespace Identity.Service.Import;

/// <summary>
/// <c>identity.v1.ImportService</c>: a header, then batches, each answered once it is committed (an answered row is
/// durable; a row sent again replays its first outcome). The next batch is read and checked while the current one is
/// written, so the store's single writer is kept busy.
/// </summary>
public sealed class ImportGrpcService(ImportDirectory imports, ImportBatchWriter writer, ImportStreams streams, ILogger<ImportGrpcService> logger)
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
        try
        {
            await foreach (var (rows, failure) in prepared.Reader.ReadAllAsync(ct))
            {
                failure?.Throw();
                last = await writer.ImportAsync(session, rows!, ct);
                await responseStream.WriteAsync(last, ct);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await reading;
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
