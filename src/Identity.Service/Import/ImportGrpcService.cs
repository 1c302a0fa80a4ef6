using Grpc.Core;
using Identity.Service.Errors;
using Identity.Service.Hosting;
using Identity.V1;

namespace Identity.Service.Import;

/// <summary>
/// <c>identity.v1.ImportService</c>: a header, then batches, each answered once it is committed (an answered row is
/// durable; a row sent again replays its first outcome).
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

        var index = 1;
        ImportMembersResponse? last = null;
        while (await requestStream.MoveNext(ct))
        {
            ImportRequests.Check(requestStream.Current, index++);
            last = await writer.ImportAsync(session, requestStream.Current.Batch.Rows, ct);
            await responseStream.WriteAsync(last, ct);
        }
        if (last is not null)
            Log.ImportClosed(logger, session.ImportId, last.Totals.Rows, last.Totals.Accepted, last.Totals.Rejected);
    }

    public override Task<GetImportResponse> GetImport(GetImportRequest request, ServerCallContext context) =>
        imports.GetAsync(ImportRequests.Read(request), context.CancellationToken);
}
