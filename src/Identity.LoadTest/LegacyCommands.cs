using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Identity.LoadTest.Legacy;
using Identity.V1;
using Microsoft.Data.Sqlite;

namespace Identity.LoadTest;

/// <summary>Legacy import tooling: generate a dirty export, stream one into ImportService, and the plain-insert baseline.</summary>
internal static class LegacyCommands
{
    public static Command Generate()
    {
        var rows = Options.Int("--rows", "Data rows to write", 10_000, 1, 50_000_000);
        var seed = Options.Int("--seed", "Seed (same seed and rows, same file)", 1, int.MinValue, int.MaxValue);
        var output = new Option<string>("--out") { Description = "CSV file to write; the expected counts go to FILE.expected.json", HelpName = "file", Required = true };
        var encoding = new Option<string>("--encoding") { Description = "utf-8 or gb18030", HelpName = "name", DefaultValueFactory = _ => "utf-8" };
        var command = new Command("gen-legacy", "Write a realistic dirty legacy member export (RFC 4180 CSV, columns named as ImportRow's fields) and its expected import counts");
        foreach (var option in new Option[] { rows, seed, output, encoding })
            command.Options.Add(option);
        command.SetAction(parse =>
        {
            var path = parse.GetValue(output)!;
            Encoding textEncoding;
            try
            {
                textEncoding = LegacyCsv.Encoding(parse.GetValue(encoding)!);
            }
            catch (ArgumentException problem)
            {
                parse.InvocationConfiguration.Error.WriteLine($"gen-legacy: {problem.Message}");
                return ExitCodes.Usage;
            }
            var stopwatch = Stopwatch.StartNew();
            var export = LegacyExport.Generate(parse.GetValue(rows), parse.GetValue(seed));
            using (var writer = new StreamWriter(path, append: false, textEncoding, bufferSize: 1 << 16))
                LegacyCsv.Write(writer, export.Lines);
            File.WriteAllText(path + ".expected.json", JsonSerializer.Serialize(export.Expected, LegacyJsonContext.Default.LegacyExpected));
            var e = export.Expected;
            parse.InvocationConfiguration.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"wrote {e.Rows} rows to {path} in {stopwatch.Elapsed.TotalSeconds:0.0} s: {e.Members} members expected ({e.Created} created, {e.Merged} merged), {e.Rejected} rejected, {e.PointsMigrated} points, {e.Bindings} bindings"));
            return ExitCodes.Ok;
        });
        return command;
    }

    public static Command Import()
    {
        var server = Options.Server();
        var file = new Argument<string>("file") { Description = "The export (CSV, columns named as ImportRow's fields)" };
        var source = new Option<string>("--source") { Description = "The legacy system's name", HelpName = "name", DefaultValueFactory = _ => "legacy" };
        var importId = new Option<string>("--import-id") { Description = "Import id (the same id resumes)", HelpName = "id" };
        var encoding = new Option<string>("--encoding") { Description = "utf-8 or gb18030", HelpName = "name", DefaultValueFactory = _ => "utf-8" };
        var batch = Options.Int("--batch", "Rows per batch", 1000, 1, 1000);
        var ahead = Options.Int("--ahead", "Batches sent ahead of the answers", 4, 1, 64);
        var key = new ClientKeyOptions();
        var command = new Command("import", "Stream an export into ImportService/ImportMembers (a plain client for benchmarks; the CLI's `identity import` is the user's tool)");
        command.Arguments.Add(file);
        foreach (var option in new Option[] { server, source, importId, encoding, batch, ahead })
            command.Options.Add(option);
        key.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = parse.InvocationConfiguration.Output;
            var error = parse.InvocationConfiguration.Error;
            if (!key.TryRead(parse, out var keyValue, out var keyProblem))
            {
                error.WriteLine($"import: {keyProblem}");
                return ExitCodes.Usage;
            }
            using var pool = new ChannelPool(parse.GetValue(server)!, 1, keyValue);
            var client = new ImportService.ImportServiceClient(pool.Invoker);
            var header = new ImportHeader
            {
                ImportId = parse.GetValue(importId) ?? "load-" + DateTime.UtcNow.ToString("yyyyMMddHHmmss", CultureInfo.InvariantCulture),
                Source = parse.GetValue(source)!,
            };
            var stopwatch = Stopwatch.StartNew();
            try
            {
                using var reader = new StreamReader(parse.GetValue(file)!, LegacyCsv.Encoding(parse.GetValue(encoding)!), detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
                var totals = await StreamAsync(client, header, LegacyRows.Read(reader), parse.GetValue(batch), parse.GetValue(ahead), cancellationToken);
                var seconds = Math.Max(stopwatch.Elapsed.TotalSeconds, 0.001);
                output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"imported {totals.Rows} rows in {seconds:0.0} s ({totals.Rows / seconds:0} rows/s): {totals.Created} created, {totals.Merged} merged, {totals.AlreadyImported} already imported, {totals.Rejected} rejected, {totals.PointsMigrated} points"));
                foreach (var (reason, count) in totals.RejectedByReason.OrderBy(r => r.Key, StringComparer.Ordinal))
                    output.WriteLine($"  {reason}: {count}");
                return ExitCodes.Ok;
            }
            catch (RpcException e)
            {
                error.WriteLine($"import: {StatusCodes.Name(e.StatusCode)} {e.Status.Detail}");
                return ExitCodes.Failed;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                error.WriteLine("cancelled");
                return ExitCodes.Cancelled;
            }
        });
        return command;
    }

    /// <summary>Sends the rows in batches, up to <paramref name="ahead"/> unanswered, and returns the import's totals.</summary>
    static async Task<ImportTotals> StreamAsync(ImportService.ImportServiceClient client, ImportHeader header, IEnumerable<ImportRow> rows, int batchSize,
        int ahead, CancellationToken cancellationToken)
    {
        using var call = client.ImportMembers(cancellationToken: cancellationToken);
        await call.RequestStream.WriteAsync(new ImportMembersRequest { Header = header }, cancellationToken);
        var window = new SemaphoreSlim(ahead);
        var totals = new ImportTotals();
        var answers = Task.Run(async () =>
        {
            while (await call.ResponseStream.MoveNext(cancellationToken))
            {
                totals = call.ResponseStream.Current.Totals;
                window.Release();
            }
        }, cancellationToken);
        var batch = new ImportBatch();
        foreach (var row in rows)
        {
            batch.Rows.Add(row);
            if (batch.Rows.Count < batchSize)
                continue;
            await SendAsync(batch);
            batch = new ImportBatch();
        }
        if (batch.Rows.Count > 0)
            await SendAsync(batch);
        await call.RequestStream.CompleteAsync();
        await answers;
        return totals;

        async Task SendAsync(ImportBatch message)
        {
            await window.WaitAsync(cancellationToken);
            if (answers.IsCompleted)
                await answers; // the server ended the stream: surface its status
            await call.RequestStream.WriteAsync(new ImportMembersRequest { Batch = message }, cancellationToken);
        }
    }

    public static Command Baseline()
    {
        var file = new Argument<string>("file") { Description = "The export whose rows are inserted" };
        var database = new Option<string>("--database") { Description = "A freshly migrated, empty Identity database file", HelpName = "path", Required = true };
        var batch = Options.Int("--batch", "Rows per transaction", 1000, 1, 100_000);
        var command = new Command("baseline-insert",
            "The floor an import is compared with: one member row (random phone ciphertext and index) and its identity rows per line, plain batched INSERTs, no logic");
        command.Arguments.Add(file);
        command.Options.Add(database);
        command.Options.Add(batch);
        command.SetAction(parse =>
        {
            var stopwatch = Stopwatch.StartNew();
            var rows = Insert(parse.GetValue(file)!, parse.GetValue(database)!, parse.GetValue(batch));
            var seconds = Math.Max(stopwatch.Elapsed.TotalSeconds, 0.001);
            parse.InvocationConfiguration.Output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"baseline: inserted {rows} rows in {seconds:0.0} s ({rows / seconds:0} rows/s)"));
            return ExitCodes.Ok;
        });
        return command;
    }

    static long Insert(string file, string database, int batchSize)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Pooling = false }.ToString());
        connection.Open();
        using (var pragma = connection.CreateCommand())
        {
            // The server's own settings for its writer's connection (SqliteWriterConnection: a 32 MiB page cache, its
            // own checkpoint only past 50,000 log pages, the log cut back to 64 MiB once emptied).
            pragma.CommandText = "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; "
                + "PRAGMA cache_size = -32768; PRAGMA wal_autocheckpoint = 50000; PRAGMA journal_size_limit = 67108864;";
            pragma.ExecuteNonQuery();
        }
        // And the server's background checkpoint (SqliteCheckpointer): a passive one every second on a connection of its own.
        using var stopCheckpoints = new CancellationTokenSource();
        var checkpoints = Task.Run(async () =>
        {
            await using var checkpointer = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Pooling = false }.ToString());
            await checkpointer.OpenAsync();
            await using var command = checkpointer.CreateCommand();
            command.CommandText = "PRAGMA busy_timeout = 30000; PRAGMA wal_checkpoint(PASSIVE);";
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
            try
            {
                while (await timer.WaitForNextTickAsync(stopCheckpoints.Token))
                    await command.ExecuteNonQueryAsync(stopCheckpoints.Token);
            }
            catch (OperationCanceledException)
            {
                // The insert is done.
            }
        });
        using var reader = new StreamReader(file, detectEncodingFromByteOrderMarks: true);
        var now = DateTimeOffset.UtcNow.UtcTicks;
        long count = 0;
        var random = new Random(1);
        SqliteTransaction? transaction = null;
        SqliteCommand? member = null, identity = null;
        foreach (var row in LegacyRows.Read(reader))
        {
            if (transaction is null)
            {
                transaction = connection.BeginTransaction();
                member = connection.CreateCommand();
                member.Transaction = transaction;
                member.CommandText = "INSERT INTO members (\"Id\", \"State\", \"PhoneCiphertext\", \"PhoneIndex\", \"Name\", \"Gender\", \"Birthday\", \"EnrolledChannel\", " +
                                     "\"EnrolledStoreId\", \"EnrolledGuideId\", \"CreatedAt\", \"UpdatedAt\", \"Version\", \"ErasureReasonCode\") " +
                                     "VALUES (@id, 1, @cipher, @index, @name, 0, NULL, 11, @store, NULL, @now, @now, 1, 0)";
                identity = connection.CreateCommand();
                identity.Transaction = transaction;
                identity.CommandText = "INSERT OR IGNORE INTO channel_identities (\"Channel\", \"ExternalId\", \"MemberId\", \"BoundAt\", \"BoundViaChannel\", \"BoundAtStoreId\") " +
                                       "VALUES (@channel, @external, @member, @now, 11, NULL)";
            }
            var id = Guid.CreateVersion7().ToString("N");
            member!.Parameters.Clear();
            member.Parameters.AddWithValue("@id", id);
            member.Parameters.AddWithValue("@cipher", string.IsNullOrEmpty(row.Phone) ? DBNull.Value : RandomBytes(random, 40));
            member.Parameters.AddWithValue("@index", string.IsNullOrEmpty(row.Phone) ? DBNull.Value : RandomBytes(random, 32));
            member.Parameters.AddWithValue("@name", string.IsNullOrEmpty(row.Name) ? DBNull.Value : row.Name[..Math.Min(64, row.Name.Length)]);
            member.Parameters.AddWithValue("@store", string.IsNullOrEmpty(row.StoreId) ? DBNull.Value : row.StoreId);
            member.Parameters.AddWithValue("@now", now);
            member.ExecuteNonQuery();
            foreach (var (channel, external) in new[] { ((int)row.Channel, row.ExternalId), ((int)Channel.WechatUnion, row.UnionId) })
            {
                if (string.IsNullOrEmpty(external))
                    continue;
                identity!.Parameters.Clear();
                identity.Parameters.AddWithValue("@channel", channel == 0 ? (int)Channel.CrmImport : channel);
                identity.Parameters.AddWithValue("@external", external);
                identity.Parameters.AddWithValue("@member", id);
                identity.Parameters.AddWithValue("@now", now);
                identity.ExecuteNonQuery();
            }
            if (++count % batchSize == 0)
            {
                transaction.Commit();
                transaction.Dispose();
                transaction = null;
            }
        }
        transaction?.Commit();
        stopCheckpoints.Cancel();
        checkpoints.GetAwaiter().GetResult();
        return count;
    }

    static byte[] RandomBytes(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }
}
