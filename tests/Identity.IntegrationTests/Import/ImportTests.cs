using System.Text;
using Grpc.Core;
using Identity.LoadTest.Legacy;
using Identity.Service.Caching;
using Identity.Service.Import;
using Microsoft.Data.Sqlite;

namespace Identity.IntegrationTests.Import;

/// <summary>
/// Legacy import through the real server: a generated dirty export (written as CSV and read back with the same CSV
/// library as the CLI) gives exactly the counts the generator expects, row by row; cut and resumed streams end in the
/// same state; POS enrolments during the import give one member per phone; a dry run writes nothing; a malformed
/// stream is INVALID_ARGUMENT naming the field.
/// </summary>
public sealed class ImportTests
{
    const int Seed = 11;

    [Fact]
    public async Task A_generated_export_imports_with_exactly_the_expected_counts_one_member_per_person()
    {
        var export = LegacyExport.Generate(20_000, Seed);
        var rows = RoundTrip(export, Encoding.UTF8);
        await using var server = await IdentityServer.StartAsync();

        var header = new ImportHeader { ImportId = "crm-2019-full", Source = "crm-2019" };
        var replies = await ImportStream.RunAsync(server.WithKey(server.TestKey), header, rows.Chunk(1000));
        var outcomes = replies.SelectMany(r => r.Outcomes).ToList();
        var expected = export.Expected;

        AssertTotals(expected, replies[^1].Totals);
        AssertOutcomes(export, outcomes);
        await AssertStoreAsync(server, expected);

        var status = await new ImportService.ImportServiceClient(server.WithKey(server.TestKey)).GetImportAsync(new GetImportRequest { ImportId = header.ImportId });
        Assert.Equal(ImportState.Idle, status.State);
        Assert.Equal(replies[^1].Totals, status.Totals);
    }

    [Fact]
    public async Task A_GB18030_export_imports_like_its_UTF8_twin_and_a_second_import_of_it_changes_nothing()
    {
        var export = LegacyExport.Generate(1_500, Seed + 1);
        var rows = RoundTrip(export, LegacyCsv.Encoding("gb18030"));
        Assert.Equal(RoundTrip(export, Encoding.UTF8), rows);
        await using var server = await IdentityServer.StartAsync();
        var replies = await ImportStream.RunAsync(server.WithKey(server.TestKey), new ImportHeader { ImportId = "gb", Source = "pos-cards" }, rows.Chunk(500));
        AssertTotals(export.Expected, replies[^1].Totals);
        AssertOutcomes(export, replies.SelectMany(r => r.Outcomes).ToList());

        // The same file under another import id: every accepted row is already imported, nothing moves.
        var again = await ImportStream.RunAsync(server.WithKey(server.TestKey), new ImportHeader { ImportId = "gb-again", Source = "pos-cards" }, rows.Chunk(500));
        var totals = again[^1].Totals;
        Assert.Equal(export.Expected.Accepted, totals.AlreadyImported);
        Assert.Equal(0, totals.Created + totals.Merged + totals.PointsMigrated);
        Assert.Equal(export.Expected.RejectedByReason, new SortedDictionary<string, long>(totals.RejectedByReason, StringComparer.Ordinal));
        await AssertStoreAsync(server, export.Expected);
    }

    [Fact]
    public async Task A_cut_stream_resumed_from_the_start_ends_as_an_uninterrupted_import()
    {
        var export = LegacyExport.Generate(3_000, Seed + 2);
        var rows = RoundTrip(export, Encoding.UTF8);
        await using var server = await IdentityServer.StartAsync();
        var header = new ImportHeader { ImportId = "cut", Source = "crm" };

        // The client goes away after sending five batches, having read the answers to only three.
        using (var cut = new CancellationTokenSource())
        {
            var client = new ImportService.ImportServiceClient(server.WithKey(server.TestKey));
            var call = client.ImportMembers(cancellationToken: cut.Token);
            await call.RequestStream.WriteAsync(new ImportMembersRequest { Header = header });
            foreach (var batch in rows.Chunk(250).Take(5))
                await call.RequestStream.WriteAsync(new ImportMembersRequest { Batch = Batch(batch) });
            for (var i = 0; i < 3; i++)
                Assert.True(await call.ResponseStream.MoveNext());
            cut.Cancel();
            call.Dispose();
        }

        // Resume: everything is sent again; the rows the server had committed replay their first outcomes.
        var replies = await ImportStream.RunAsync(server.WithKey(server.TestKey), header, rows.Chunk(250));
        var outcomes = replies.SelectMany(r => r.Outcomes).ToList();
        Assert.True(outcomes.Take(750).All(o => o.Replayed), "rows answered before the cut did not replay");
        Assert.Contains(outcomes, o => !o.Replayed);
        AssertTotals(export.Expected, replies[^1].Totals);
        AssertOutcomes(export, outcomes);
        await AssertStoreAsync(server, export.Expected);
    }

    [Fact]
    public async Task A_server_killed_mid_import_and_the_import_resumed_ends_as_an_uninterrupted_import()
    {
        var export = LegacyExport.Generate(3_000, Seed + 5);
        var rows = RoundTrip(export, Encoding.UTF8);
        var data = Path.Combine(Path.GetTempPath(), "identity-tests", Guid.NewGuid().ToString("N"));
        var header = new ImportHeader { ImportId = "killed", Source = "crm" };
        int answered;
        await using (var first = await ServerProcess.StartAsync(data))
        {
            // Every batch is sent at once; the server is killed (SIGKILL) once four have been answered, mid-way through the rest.
            using var call = new ImportService.ImportServiceClient(first.Admin).ImportMembers();
            await call.RequestStream.WriteAsync(new ImportMembersRequest { Header = header });
            var sending = Task.Run(async () =>
            {
                foreach (var batch in rows.Chunk(200))
                    await call.RequestStream.WriteAsync(new ImportMembersRequest { Batch = Batch(batch) });
            });
            for (answered = 0; answered < 4; answered++)
                Assert.True(await call.ResponseStream.MoveNext());
            first.Kill();
            await Assert.ThrowsAnyAsync<Exception>(async () =>
            {
                await sending;
                while (await call.ResponseStream.MoveNext())
                    answered++;
            });
        }
        Assert.True(answered < 15, "the import finished before the server was killed: the test tests nothing");

        await using var second = await ServerProcess.StartAsync(data);
        var replies = await ImportStream.RunAsync(second.Admin, header, rows.Chunk(200));
        var outcomes = replies.SelectMany(r => r.Outcomes).ToList();
        Assert.True(outcomes.Take(answered * 200).All(o => o.Replayed), "rows answered before the kill did not replay");
        AssertTotals(export.Expected, replies[^1].Totals);
        AssertOutcomes(export, outcomes);
        await AssertStoreAsync(data, new LoyaltyService.LoyaltyServiceClient(second.Admin), export.Expected);
    }

    [Fact]
    public async Task POS_enrolments_of_phones_in_the_file_during_the_import_give_one_member_per_person()
    {
        var export = LegacyExport.Generate(4_000, Seed + 3);
        var rows = RoundTrip(export, Encoding.UTF8);
        await using var server = await IdentityServer.StartAsync();

        // One written phone of each of 300 people, enrolled at POS while the import runs.
        var people = export.Lines.Select((line, i) => (line, row: rows[i]))
            .Where(p => p.line.ExpectedReason is null && p.line.Person >= 0 && p.row.Phone != "")
            .GroupBy(p => p.line.Person).Take(300).Select(g => (Person: g.Key, Phone: g.Last().row.Phone)).ToList();
        var import = ImportStream.RunAsync(server.WithKey(server.TestKey), new ImportHeader { ImportId = "race", Source = "crm" }, rows.Chunk(200));
        var enrolled = new Dictionary<int, string>();
        foreach (var (person, phone) in people)
        {
            // A POS retries UNAVAILABLE (store busy, with RetryInfo), as docs/errors.md asks of every caller.
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    enrolled[person] = (await server.Members.EnrollMemberAsync(new EnrollMemberRequest { Phone = phone, Source = TestData.Pos() })).Member.MemberId;
                    break;
                }
                catch (RpcException e) when (e.StatusCode == StatusCode.Unavailable && attempt < 5)
                {
                    await Task.Delay(200 * attempt);
                }
            }
        }
        var replies = await import;

        var outcomes = replies.SelectMany(r => r.Outcomes).ToList();
        var memberOf = MembersByPerson(export, outcomes);
        foreach (var (person, phone) in people)
        {
            var resolved = (await server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone })).Member.MemberId;
            Assert.Equal(enrolled[person], resolved);
            Assert.Equal(resolved, memberOf[person]);
        }
        var totals = replies[^1].Totals;
        Assert.Equal(export.Expected.Accepted, totals.Accepted);
        Assert.Equal(export.Expected.Members, Scalar(server, "SELECT COUNT(*) FROM members WHERE \"State\" = 1"));
    }

    [Fact]
    public async Task A_dry_run_classifies_every_row_and_writes_nothing()
    {
        var export = LegacyExport.Generate(2_000, Seed + 4);
        var rows = RoundTrip(export, Encoding.UTF8);
        await using var server = await IdentityServer.StartAsync();
        var members = server.Count("members");
        var header = new ImportHeader { ImportId = "dry", Source = "crm", Options = new ImportOptions { DryRun = true } };
        var replies = await ImportStream.RunAsync(server.WithKey(server.TestKey), header, rows.Chunk(300));

        var expected = export.Expected;
        var totals = replies[^1].Totals;
        Assert.Equal(expected.Created, totals.Created);
        Assert.Equal(expected.Merged, totals.Merged);
        Assert.Equal(expected.PointsMigrated, totals.PointsMigrated);
        Assert.Equal(expected.RejectedByReason, new SortedDictionary<string, long>(totals.RejectedByReason, StringComparer.Ordinal));
        Assert.Equal(members, server.Count("members"));
        foreach (var table in new[] { "channel_identities", "points_entries", "imports", "import_rows", "import_keys" })
            Assert.Equal(0, server.Count(table));
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await new ImportService.ImportServiceClient(server.WithKey(server.TestKey)).GetImportAsync(new GetImportRequest { ImportId = "dry" }));
        Assert.Equal(StatusCode.NotFound, error.StatusCode);
    }

    [Fact]
    public async Task A_dry_run_replays_a_row_number_sent_again_and_counts_it_once_as_a_real_run_does()
    {
        await using var server = await IdentityServer.StartAsync();
        var admin = server.WithKey(server.TestKey);
        ImportRow Row(long number, string key, string phone) => new() { RowNumber = number, SourceRowKey = key, Phone = phone };
        IReadOnlyList<ImportRow>[] batches =
        [
            [Row(1, "z1", "13900000091"), Row(2, "z1", "13900000091")],
            [Row(1, "z1", "13900000091"), Row(3, "z3", "13900000091")],
        ];
        async Task<List<ImportMembersResponse>> Run(string importId, bool dry) =>
            await ImportStream.RunAsync(admin, new ImportHeader { ImportId = importId, Source = "dsrc", Options = new ImportOptions { DryRun = dry } }, batches);

        var dry = await Run("dry-a", dry: true);
        var real = await Run("real-a", dry: false);
        foreach (var replies in new[] { dry, real })
        {
            var resent = replies[1].Outcomes[0];
            Assert.True(resent.Replayed);
            Assert.Equal(ImportAcceptance.Created, resent.Accepted.Acceptance);
            Assert.Equal(replies[0].Outcomes[0].Accepted.MemberId, resent.Accepted.MemberId);
            Assert.Equal(ImportReasons.DuplicateRow, replies[0].Outcomes[1].Rejected?.Reason);
            Assert.Equal(ImportAcceptance.Merged, replies[1].Outcomes[1].Accepted.Acceptance);
            Assert.Equal((3, 1, 2), (replies[^1].Totals.Rows, replies[^1].Totals.Rejected, replies[^1].Totals.Accepted));
        }
    }

    [Fact]
    public async Task Birthdays_and_registration_times_are_judged_on_the_brands_calendar()
    {
        // 00:30 on 3 December in Shanghai (the default program's zone) is still 2 December in UTC.
        var clock = new ManualClock(new DateTimeOffset(2026, 12, 2, 16, 30, 0, TimeSpan.Zero));
        await using var server = await IdentityServer.StartAsync(null, clock);
        var admin = server.WithKey(server.TestKey);
        ImportRow Row(long number, string phone) => new() { RowNumber = number, SourceRowKey = "b" + number, Phone = phone };
        var at = (long seconds) => new Google.Protobuf.WellKnownTypes.Timestamp { Seconds = seconds };
        var localNewYear1980 = new DateTimeOffset(1980, 1, 1, 0, 0, 0, TimeSpan.FromHours(8)).ToUnixTimeSeconds();
        ImportRow[] rows =
        [
            new(Row(1, "13266699001")) { Birthday = "2026-12-03" }, // today there: not a future date
            new(Row(2, "13266699002")) { Birthday = "2026-12-04" },
            new(Row(3, "13266699003")) { RegisteredAt = at(localNewYear1980) }, // 1980-01-01 00:00 there
            new(Row(4, "13266699004")) { RegisteredAt = at(localNewYear1980 - 1) },
            new(Row(5, "13266699005")) { Name = "王\u0001芳" },
        ];
        var outcomes = (await ImportStream.RunAsync(admin, new ImportHeader { ImportId = "dates", Source = "crm" }, [rows]))[0].Outcomes;
        Assert.NotNull(outcomes[0].Accepted);
        Assert.Equal(ImportReasons.InvalidBirthday, outcomes[1].Rejected?.Reason);
        Assert.NotNull(outcomes[2].Accepted);
        Assert.Equal(ImportReasons.InvalidRegisteredAt, outcomes[3].Rejected?.Reason);
        Assert.Equal(("name", "invalid_field"), (outcomes[4].Rejected?.Field, outcomes[4].Rejected?.Reason));
        Assert.Contains("control characters", outcomes[4].Rejected!.Detail, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> BadStreams() => new()
    {
        { "batch-first", "header" },
        { "header-twice", "header" },
        { "too-many-rows", "batch.rows" },
        { "row-number-zero", "batch.rows[1].row_number" },
        { "row-number-twice", "batch.rows[2].row_number" },
        { "bad-import-id", "header.import_id" },
        { "no-source", "header.source" },
        { "empty-message", "batch" },
    };

    [Theory]
    [MemberData(nameof(BadStreams))]
    public async Task A_malformed_stream_is_invalid_argument_naming_the_field(string shape, string field)
    {
        await using var server = await IdentityServer.StartAsync();
        var client = new ImportService.ImportServiceClient(server.WithKey(server.TestKey));
        var header = new ImportHeader { ImportId = "bad-" + shape, Source = "crm" };
        var row = new ImportRow { RowNumber = 1, SourceRowKey = "k1", Phone = "13800138000" };
        List<ImportMembersRequest> messages = shape switch
        {
            "batch-first" => [new ImportMembersRequest { Batch = Batch([row]) }],
            "header-twice" => [new() { Header = header }, new() { Header = header }],
            "too-many-rows" => [new() { Header = header }, new() { Batch = Batch(Enumerable.Range(1, 1001).Select(i => new ImportRow { RowNumber = i, SourceRowKey = $"k{i}" }).ToArray()) }],
            "row-number-zero" => [new() { Header = header }, new() { Batch = Batch([row, new ImportRow { RowNumber = 0, SourceRowKey = "k2" }]) }],
            "row-number-twice" => [new() { Header = header }, new() { Batch = Batch([row, new ImportRow { RowNumber = 2, SourceRowKey = "k2" },
                new ImportRow { RowNumber = 1, SourceRowKey = "k3", Phone = "13800138001" }]) }],
            "bad-import-id" => [new() { Header = new ImportHeader { ImportId = "has space", Source = "crm" } }],
            "no-source" => [new() { Header = new ImportHeader { ImportId = "x" } }],
            _ => [new() { Header = header }, new()],
        };
        using var call = client.ImportMembers();
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            foreach (var message in messages)
                await call.RequestStream.WriteAsync(message);
            await call.RequestStream.CompleteAsync();
            while (await call.ResponseStream.MoveNext())
            {
            }
        });
        Assert.True(error.StatusCode == StatusCode.InvalidArgument, $"{shape}: {error.StatusCode} {error.Status.Detail}");
        Assert.Equal([field], error.BadFields());
    }

    [Fact]
    public async Task Reopening_an_import_id_with_another_source_is_already_exists()
    {
        await using var server = await IdentityServer.StartAsync();
        var row = new ImportRow { RowNumber = 1, SourceRowKey = "k1", Phone = "13800138000" };
        await ImportStream.RunAsync(server.WithKey(server.TestKey), new ImportHeader { ImportId = "one", Source = "crm" }, [[row]]);
        var error = await Assert.ThrowsAsync<RpcException>(() =>
            ImportStream.RunAsync(server.WithKey(server.TestKey), new ImportHeader { ImportId = "one", Source = "pos" }, [[row]]));
        Assert.Equal(StatusCode.AlreadyExists, error.StatusCode);
    }

    [Fact]
    public async Task A_row_key_stays_with_the_import_that_brought_its_row_whatever_other_imports_send()
    {
        await using var server = await IdentityServer.StartAsync();
        var admin = server.WithKey(server.TestKey);
        ImportRow Row(long number, string key, string phone, long points = 50) =>
            new() { RowNumber = number, SourceRowKey = key, Phone = phone, PointsBalance = points };
        async Task<ImportRowOutcome> Send(string importId, ImportRow row) =>
            (await ImportStream.RunAsync(admin, new ImportHeader { ImportId = importId, Source = "crm" }, [[row]]))[0].Outcomes.Single();

        // x1 brings K; x2 sends the identical row (already imported) and then a row that reuses K with other values.
        Assert.Equal(ImportAcceptance.Created, (await Send("x1", Row(1, "K", "13711110001"))).Accepted.Acceptance);
        Assert.Equal(ImportAcceptance.AlreadyImported, (await Send("x2", Row(1, "K", "13711110001"))).Accepted.Acceptance);
        var changed = await Send("x3", Row(1, "K", "13711110001", points: 70));
        Assert.Equal(ImportReasons.DuplicateRow, changed.Rejected?.Reason);
        Assert.Contains("import x1", changed.Rejected!.Detail, StringComparison.Ordinal);

        // A later row of x1 (a new stream of it) that uses K again is a duplicate of x1's own row 1, not a row another import brought.
        var again = await Send("x1", Row(2, "K", "13711110001"));
        Assert.Equal(ImportReasons.DuplicateRow, again.Rejected?.Reason);
        Assert.Contains("row 1", again.Rejected!.Detail, StringComparison.Ordinal);
        // In x2 and x3, whose rows used K without taking it, a later row with K (a later batch) is a duplicate of their row 1.
        foreach (var other in new[] { "x2", "x3" })
        {
            var later = await Send(other, Row(2, "K", "13711110001"));
            Assert.Equal(ImportReasons.DuplicateRow, later.Rejected?.Reason);
            Assert.Contains("first used by row 1", later.Rejected!.Detail, StringComparison.Ordinal);
        }

        // A key x4 rejected goes to the import that brings its row in (x5), and stays there.
        Assert.Equal(ImportReasons.InvalidPhone, (await Send("x4", Row(1, "L", "12345"))).Rejected?.Reason);
        Assert.Equal(ImportReasons.InvalidPhone, (await Send("x6", Row(1, "L", "12345"))).Rejected?.Reason);
        Assert.Equal(ImportAcceptance.Created, (await Send("x5", Row(1, "L", "13711110002"))).Accepted.Acceptance);
        var x6Again = await Send("x6", Row(2, "L", "13711110002"));
        Assert.Equal(ImportReasons.DuplicateRow, x6Again.Rejected?.Reason);
        Assert.Contains("first used by row 1", x6Again.Rejected!.Detail, StringComparison.Ordinal);
        Assert.Equal(1, server.Scalar("SELECT COUNT(*) FROM import_keys WHERE \"SourceRowKey\" = 'L' AND \"ImportId\" = 'x5' AND \"RowNumber\" = 1"));
        // x4 held L (its row rejected) until x5 took it over: a later row of x4 with L, even identical to x5's, is still a
        // duplicate of x4's own row 1, not a row another import brought.
        var x4Again = await Send("x4", Row(2, "L", "13711110002"));
        Assert.Equal(ImportReasons.DuplicateRow, x4Again.Rejected?.Reason);
        Assert.Contains("first used by row 1", x4Again.Rejected!.Detail, StringComparison.Ordinal);
        var import = await new ImportService.ImportServiceClient(admin).GetImportAsync(new GetImportRequest { ImportId = "x1" });
        Assert.Equal(1, import.Totals.Accepted);
        Assert.Equal(1, import.Totals.Rejected);
        Assert.Equal(100, server.Scalar("SELECT COALESCE(SUM(\"Points\"), 0) FROM points_entries"));
    }

    [Fact]
    public async Task A_row_imported_again_after_its_member_was_merged_is_answered_with_the_survivor()
    {
        await using var server = await IdentityServer.StartAsync();
        var admin = server.WithKey(server.TestKey);
        async Task<ImportRowOutcome> Send(string importId, string key, string phone) =>
            (await ImportStream.RunAsync(admin, new ImportHeader { ImportId = importId, Source = "crm" },
                [[new ImportRow { RowNumber = 1, SourceRowKey = key, Phone = phone }]]))[0].Outcomes.Single();

        var absorbed = (await Send("m1", "A", "13722220001")).Accepted.MemberId;
        var survivor = (await Send("m2", "B", "13722220002")).Accepted.MemberId;
        await server.Members.MergeMembersAsync(new MergeMembersRequest { SurvivorMemberId = survivor, AbsorbedMemberId = absorbed, Reason = "dup", Operator = "ops" });

        var again = await Send("m3", "A", "13722220001");
        Assert.Equal(ImportAcceptance.AlreadyImported, again.Accepted.Acceptance);
        Assert.Equal(survivor, again.Accepted.MemberId);
    }

    [Fact]
    public async Task Unparsed_fields_reject_their_row_by_the_field_and_a_name_that_is_no_field_by_the_list()
    {
        await using var server = await IdentityServer.StartAsync();
        ImportRow Row(long number, params string[] unparsed) => new ImportRow { RowNumber = number, SourceRowKey = $"u{number}", Phone = $"1371111{number:D4}" }
            .Also(r => r.UnparsedFields.AddRange(unparsed));
        var replies = await ImportStream.RunAsync(server.WithKey(server.TestKey), new ImportHeader { ImportId = "unparsed", Source = "crm" },
            [[Row(1, "points_balance"), Row(2, "gender"), Row(3, "王芳 13800138000"), Row(4, "gender", "row_number"), Row(5)]]);
        var outcomes = replies[0].Outcomes;
        Assert.Equal((ImportReasons.InvalidPoints, "points_balance"), (outcomes[0].Rejected.Reason, outcomes[0].Rejected.Field));
        Assert.Equal((ImportReasons.InvalidField, "gender"), (outcomes[1].Rejected.Reason, outcomes[1].Rejected.Field));
        Assert.Equal((ImportReasons.InvalidField, "unparsed_fields"), (outcomes[2].Rejected.Reason, outcomes[2].Rejected.Field));
        Assert.DoesNotContain("王芳", outcomes[2].Rejected.Detail, StringComparison.Ordinal);
        Assert.Equal((ImportReasons.InvalidField, "unparsed_fields"), (outcomes[3].Rejected.Reason, outcomes[3].Rejected.Field));
        Assert.Equal(ImportAcceptance.Created, outcomes[4].Accepted.Acceptance);
    }

    // ---- helpers ----

    /// <summary>The export written as CSV in <paramref name="encoding"/> and read back as the client reads it.</summary>
    internal static IReadOnlyList<ImportRow> RoundTrip(LegacyExport export, Encoding encoding)
    {
        using var buffer = new MemoryStream();
        using (var writer = new StreamWriter(buffer, encoding, leaveOpen: true))
            LegacyCsv.Write(writer, export.Lines);
        buffer.Position = 0;
        using var reader = new StreamReader(buffer, encoding);
        var rows = LegacyRows.Read(reader).ToList();
        Assert.Equal(export.Lines.Count, rows.Count);
        return rows;
    }

    internal static ImportBatch Batch(IEnumerable<ImportRow> rows)
    {
        var batch = new ImportBatch();
        batch.Rows.AddRange(rows);
        return batch;
    }

    internal static void AssertTotals(LegacyExpected expected, ImportTotals totals)
    {
        Assert.Equal(expected.Rows, totals.Rows);
        Assert.Equal(expected.Accepted, totals.Accepted);
        Assert.Equal(expected.Created, totals.Created);
        Assert.Equal(expected.Merged, totals.Merged);
        Assert.Equal(0, totals.AlreadyImported);
        Assert.Equal(expected.Rejected, totals.Rejected);
        Assert.Equal(expected.RejectedByReason, new SortedDictionary<string, long>(totals.RejectedByReason, StringComparer.Ordinal));
        Assert.Equal(expected.PointsMigrated, totals.PointsMigrated);
    }

    /// <summary>Every line got the outcome it was built for; each person is one member, and no two people share one.</summary>
    internal static void AssertOutcomes(LegacyExport export, IReadOnlyList<ImportRowOutcome> outcomes)
    {
        var byRow = outcomes.GroupBy(o => o.RowNumber).ToDictionary(g => g.Key, g => g.Last());
        Assert.Equal(export.Lines.Count, byRow.Count);
        var wrong = new List<string>();
        for (var i = 0; i < export.Lines.Count; i++)
        {
            var line = export.Lines[i];
            var outcome = byRow[i + 1];
            var got = outcome.Rejected?.Reason;
            if (got != line.ExpectedReason)
                wrong.Add($"row {i + 1}: expected {line.ExpectedReason ?? "accepted"}, got {got ?? "accepted"} ({outcome.Rejected?.Field} {outcome.Rejected?.Detail})");
            else if (got is null && (outcome.Accepted.Acceptance == ImportAcceptance.Created) != line.Creates)
                wrong.Add($"row {i + 1}: expected {(line.Creates ? "created" : "merged")}, got {outcome.Accepted.Acceptance}");
        }
        Assert.True(wrong.Count == 0, $"{wrong.Count} rows differ, first: " + string.Join("; ", wrong.Take(8)));

        var members = MembersByPerson(export, outcomes);
        Assert.Equal(members.Count, members.Values.Distinct().Count());
        // An identity conflict names the member that owns the identity: the member of the line it was taken from.
        for (var i = 0; i < export.Lines.Count; i++)
            if (export.Lines[i] is { ExpectedReason: "identity_conflict", ConflictsWith: { } owner })
                Assert.Equal(members[owner.Person], byRow[i + 1].Rejected.OwnerMemberId);
    }

    static Dictionary<int, string> MembersByPerson(LegacyExport export, IReadOnlyList<ImportRowOutcome> outcomes)
    {
        var byRow = outcomes.GroupBy(o => o.RowNumber).ToDictionary(g => g.Key, g => g.Last());
        var members = new Dictionary<int, string>();
        for (var i = 0; i < export.Lines.Count; i++)
        {
            var line = export.Lines[i];
            if (line.ExpectedReason is not null || byRow[i + 1].Accepted is not { } accepted)
                continue;
            if (members.TryGetValue(line.Person, out var member))
                Assert.True(member == accepted.MemberId, $"row {i + 1}: person {line.Person} is in two members");
            else
                members[line.Person] = accepted.MemberId;
        }
        return members;
    }

    /// <summary>The store holds exactly the expected members, bindings and points, once, and the ledger is consistent.</summary>
    internal static Task AssertStoreAsync(IdentityServer server, LegacyExpected expected) =>
        AssertStoreAsync(server.DataDirectory, server.Loyalty, expected);

    internal static async Task AssertStoreAsync(string dataDirectory, LoyaltyService.LoyaltyServiceClient loyalty, LegacyExpected expected)
    {
        Assert.Equal(expected.Members, Scalar(dataDirectory, "SELECT COUNT(*) FROM members WHERE \"State\" = 1"));
        Assert.Equal(expected.Bindings, Scalar(dataDirectory, "SELECT COUNT(*) FROM channel_identities"));
        Assert.Equal(expected.PointsMigrated, Scalar(dataDirectory, "SELECT COALESCE(SUM(\"Points\"), 0) FROM points_entries WHERE \"Kind\" = 7"));
        Assert.Equal(0, Scalar(dataDirectory, "SELECT COUNT(*) FROM (SELECT \"Reference\" FROM points_entries GROUP BY \"Reference\" HAVING COUNT(*) > 1) AS d"));
        Assert.Equal(expected.PointsMigrated, Scalar(dataDirectory, "SELECT COALESCE(SUM(\"PointsBalance\"), 0) FROM loyalty_accounts"));
        var ledger = await loyalty.VerifyLedgerAsync(new VerifyLedgerRequest());
        Assert.Empty(ledger.Problems);
    }

    internal static long Scalar(IdentityServer server, string sql) => Scalar(server.DataDirectory, sql);

    /// <summary>One value straight from the store of a data directory (its SQLite file, or its PostgreSQL database).</summary>
    internal static long Scalar(string dataDirectory, string sql)
    {
        using System.Data.Common.DbConnection connection = TestStore.IsPostgres
            ? new Npgsql.NpgsqlConnection(PostgresCluster.Shared.ConnectionString(TestStore.DatabaseFor(dataDirectory)))
            : new SqliteConnection($"Data Source={Path.Combine(dataDirectory, "identity.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
