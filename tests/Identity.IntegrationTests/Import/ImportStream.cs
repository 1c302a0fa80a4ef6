using Grpc.Core;

namespace Identity.IntegrationTests.Import;

/// <summary>Drives one ImportMembers stream the way a client does: the header, then each batch, waiting for its answer.</summary>
public static class ImportStream
{
    public static async Task<List<ImportMembersResponse>> RunAsync(CallInvoker invoker, ImportHeader header, IEnumerable<IReadOnlyList<ImportRow>> batches,
        CancellationToken cancellationToken = default)
    {
        var client = new ImportService.ImportServiceClient(invoker);
        using var call = client.ImportMembers(deadline: DateTime.UtcNow.AddMinutes(5), cancellationToken: cancellationToken);
        await call.RequestStream.WriteAsync(new ImportMembersRequest { Header = header }, cancellationToken);
        var replies = new List<ImportMembersResponse>();
        foreach (var rows in batches)
        {
            var batch = new ImportBatch();
            batch.Rows.AddRange(rows);
            await call.RequestStream.WriteAsync(new ImportMembersRequest { Batch = batch }, cancellationToken);
            if (!await call.ResponseStream.MoveNext(cancellationToken))
                throw new InvalidOperationException("The server closed the stream before answering a batch.");
            replies.Add(call.ResponseStream.Current);
        }
        await call.RequestStream.CompleteAsync();
        while (await call.ResponseStream.MoveNext(cancellationToken))
            replies.Add(call.ResponseStream.Current);
        return replies;
    }
}
