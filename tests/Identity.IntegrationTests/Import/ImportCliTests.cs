using System.Diagnostics;
using System.Globalization;
using System.Text;
using Google.Protobuf;
using Grpc.Core;

namespace Identity.IntegrationTests.Import;

/// <summary>
/// <c>identity import</c>, the real CLI binary, against a real server: RFC 4180 quoting, column mapping and channel
/// aliases, landline and trunk-0 phones, GB18030, dry runs, and a resume after the CLI is cut mid-stream.
/// </summary>
public sealed class ImportCliTests : IAsyncLifetime
{
    readonly string directory = Directory.CreateTempSubdirectory("identity-import-cli-").FullName;
    IdentityServer server = null!;

    public async Task InitializeAsync() => server = await IdentityServer.StartAsync();

    public async Task DisposeAsync()
    {
        await server.DisposeAsync();
        Directory.Delete(directory, recursive: true);
    }

    static ImportTotals Totals(string json) => JsonParser.Default.Parse<ImportTotals>(json);

    static Task<Member> Resolve(IdentityServer on, string phone) =>
        on.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone }).ResponseAsync.ContinueWith(t => t.Result.Member);

    string Write(string name, string text, Encoding encoding)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllBytes(path, [.. encoding.GetPreamble(), .. encoding.GetBytes(text)]);
        return path;
    }

    [Fact]
    public async Task Quoted_names_mapped_columns_channel_aliases_landlines_and_trunk_forms_import_and_rejects_are_reported()
    {
        var (p1, p2, p7) = (TestData.Phone(), TestData.Phone(), TestData.Phone());
        var landline = TestData.Landline(); // e.g. 02187654321
        var csv =
            "会员编号,渠道,openid,手机号,姓名,积分,生日\r\n" +
            $"M1,小程序,oA-{p1},{p1},\"王, 芳\",100,1990/05/04\r\n" +
            $"M2,pos,card-{p2},0{p2},\"李\"\"雷\"\"\",50,\r\n" +
            $"M3,,,\"({landline[..^8]}) {landline[^8..^4]}-{landline[^4..]}\",\"张\r\n伟\",0,\r\n" +
            "M4,tmall,buyer-4,,\"\"\"韩\"\", 梅梅\nline two\",abc,\r\n" +
            $"M5,,,{TestData.CrmForm(p1)},重复,10,\r\n" +
            "M6,,,,nobody,0,\r\n" +
            $"M7,weibo,x-7,{p7},未知渠道,0,\r\n";
        var file = Write("tricky.csv", csv, new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));

        var (exit, output, error) = await CliProcess.RunAsync(server, "import", file, "--source", "crm-tricky", "--json",
            "--map", "source_row_key=会员编号", "--map", "channel=渠道", "--map", "external_id=openid", "--map", "phone=手机号",
            "--map", "name=姓名", "--map", "points_balance=积分", "--map", "birthday=生日", "--channel-alias", "小程序=miniprogram");

        Assert.True(exit == 0, $"exit {exit}: {output}\n{error}");
        var totals = Totals(output);
        Assert.Equal(7, totals.Rows);
        Assert.Equal(3, totals.Created);
        Assert.Equal(1, totals.Merged);
        Assert.Equal(3, totals.Rejected);
        Assert.Equal(new Dictionary<string, long> { ["invalid_points"] = 1, ["missing_identifier"] = 1, ["invalid_field"] = 1 }, totals.RejectedByReason);
        Assert.Equal(160, totals.PointsMigrated);

        var first = await Resolve(server, p1);
        Assert.Equal("王, 芳", first.Profile.Name);
        Assert.Equal("1990-05-04", first.Profile.Birthday);
        Assert.Contains(first.ChannelIdentities, i => i.Channel == Channel.WechatMiniProgram && i.ExternalId == $"oA-{p1}");
        Assert.Equal("李\"雷\"", (await Resolve(server, $"+86 {p2}")).Profile.Name);
        var fixedLine = await Resolve(server, $"+86 {landline[1..]}");
        Assert.Equal("张 伟", fixedLine.Profile.Name); // line breaks in a legacy name become one space
        Assert.Equal(110, (await server.Loyalty.GetPointsAccountAsync(new GetPointsAccountRequest { Member = new MemberKey { Phone = p1 } })).Balance);

        var report = File.ReadAllText(file + ".rejects.csv");
        Assert.StartsWith("row,field,reason,detail,会员编号,渠道,openid,手机号,姓名,积分,生日", report);
        Assert.Contains("4,points_balance,invalid_points,", report);
        Assert.Contains("M4,tmall,buyer-4,,\"\"\"韩\"\", 梅梅\nline two\",abc,", report);
        Assert.Contains("6,,missing_identifier,", report);
        Assert.Contains("7,channel,invalid_field,", report);
        Assert.DoesNotContain("M1,", report);
    }

    [Fact]
    public async Task A_gb18030_export_imports_with_encoding_gb18030_and_is_refused_before_any_row_without_it()
    {
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        var (p1, p2) = (TestData.Phone(), TestData.Phone());
        var file = Write("gb.csv", $"source_row_key,phone,name,gender\r\nG1,{p1},欧阳娜娜,女\r\nG2,{p2},\"王秀英, 𠀀\",男\r\n", Encoding.GetEncoding("GB18030"));

        var members = server.Count("members");
        var refused = await CliProcess.RunAsync(server, "import", file, "--source", "pos-cards");
        Assert.Equal(2, refused.Exit);
        Assert.Contains("--encoding gb18030", refused.Error);
        Assert.Equal(members, server.Count("members"));

        var (exit, output, error) = await CliProcess.RunAsync(server, "import", file, "--source", "pos-cards", "--encoding", "gb18030", "--json");

        Assert.True(exit == 0, $"exit {exit}: {output}\n{error}");
        Assert.Equal(2, Totals(output).Created);
        var first = await Resolve(server, p1);
        Assert.Equal("欧阳娜娜", first.Profile.Name);
        Assert.Equal(Gender.Female, first.Profile.Gender);
        Assert.Equal("王秀英, 𠀀", (await Resolve(server, p2)).Profile.Name);
    }

    [Fact]
    public async Task A_dry_run_reports_what_would_happen_and_writes_nothing()
    {
        var (p1, p2) = (TestData.Phone(), TestData.Phone());
        var file = Write("dry.csv", $"source_row_key,phone,points_balance\nD1,{p1},10\nD2,{p2},x\nD3,{p1},5\n", new UTF8Encoding(false));
        var members = server.Count("members");

        var (exit, output, error) = await CliProcess.RunAsync(server, "import", file, "--source", "dry", "--dry-run", "--json");

        Assert.True(exit == 0, $"exit {exit}: {output}\n{error}");
        var totals = Totals(output);
        Assert.Equal((1, 1, 1), (totals.Created, totals.Merged, totals.Rejected));
        Assert.Equal(members, server.Count("members"));
        await Rpc.FailsWith(StatusCode.NotFound, server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = p1 }));
        Assert.False(File.Exists(file + ".import-state.json"));

        // The real import afterwards is not taken for the dry run: it creates.
        var real = await CliProcess.RunAsync(server, "import", file, "--source", "dry", "--json");
        Assert.True(real.Exit == 0, real.Error);
        Assert.Equal(1, Totals(real.Output).Created);
    }

    [Fact]
    public async Task Files_the_cli_cannot_read_or_write_safely_stop_it_with_a_usage_error_before_anything_is_sent()
    {
        var phone = TestData.Phone();
        var text = $"source_row_key,phone,name\nS1,{phone},王芳\n";
        var file = Write("safe.csv", text, new UTF8Encoding(false));
        var members = server.Count("members");
        async Task Refused(string expected, params string[] args)
        {
            var (exit, output, error) = await CliProcess.RunAsync(server, args);
            Assert.True(exit == 2, $"exit {exit}: {output}\n{error}");
            Assert.Contains(expected, error, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        }

        // The report would overwrite the export, or cannot be written at all.
        await Refused("is the file being imported", "import", file, "--source", "crm", "--rejects", file);
        Assert.Equal(text, File.ReadAllText(file));
        // Under another name: a symbolic link to it, or a hard link (the same file in another directory entry).
        var symbolic = Path.Combine(directory, "alias.csv");
        File.CreateSymbolicLink(symbolic, file);
        await Refused("is the file being imported", "import", file, "--source", "crm", "--rejects", symbolic);
        await Refused("is the file being imported", "import", symbolic, "--source", "crm", "--rejects", file);
        var hard = Path.Combine(directory, "hard.csv");
        using (var link = Process.Start("ln", [file, hard]))
            await link.WaitForExitAsync();
        Assert.True(File.Exists(hard), "ln made no hard link");
        await Refused("is the file being imported", "import", file, "--source", "crm", "--rejects", hard);
        Assert.Equal(text, File.ReadAllText(file));
        await Refused("does not exist", "import", file, "--source", "crm", "--rejects", Path.Combine(directory, "missing", "r.csv"));
        await Refused("is a directory", "import", file, "--source", "crm", "--rejects", directory);

        // A quote never closed would make every later line one value of one record.
        var open = Write("open.csv", $"source_row_key,phone,name\nO1,{phone},\"李\nO2,{TestData.Phone()},韩\n", new UTF8Encoding(false));
        await Refused("line 2", "import", open, "--source", "crm");

        // A replay file that is not UTF-8 would turn distinct Chinese order ids into one.
        var orders = Path.Combine(directory, "orders.jsonl");
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        File.WriteAllBytes(orders, Encoding.GetEncoding("GB18030").GetBytes(
            $"{{\"member\":{{\"phone\":\"{phone}\"}},\"channel\":\"CHANNEL_POS\",\"orderId\":\"东店-1\",\"amountFen\":100}}\n" +
            $"{{\"member\":{{\"phone\":\"{phone}\"}},\"channel\":\"CHANNEL_POS\",\"orderId\":\"西店-1\",\"amountFen\":100}}\n"));
        await Refused("not UTF-8", "orders", "replay", orders);

        // A directory where a file is read: said so, not "access denied".
        await Refused("is a directory, not a file", "import", directory, "--source", "crm");
        await Refused("is a directory, not a file", "import", file, "--source", "crm", "--map-file", directory);
        await Refused("is a directory, not a file", "orders", "replay", directory);

        Assert.Equal(members, server.Count("members"));
        Assert.Equal(0, server.Scalar("SELECT COUNT(*) FROM imports"));
    }

    [Fact]
    public async Task Rows_and_orders_too_long_for_one_call_go_in_more_calls_and_are_refused_one_by_one()
    {
        // 600 rows with 6,000-character names: 3.6 MB of names in a default batch of 500, over the 4 MiB a call takes.
        var longName = new string('名', 6000);
        var csv = new StringBuilder("source_row_key,phone,name\n");
        for (var i = 1; i <= 600; i++)
            csv.Append(CultureInfo.InvariantCulture, $"L{i},{TestData.Phone()},{longName}\n");
        var file = Write("long.csv", csv.ToString(), new UTF8Encoding(false));
        var import = await CliProcess.RunAsync(server, "import", file, "--source", "long", "--json");
        Assert.True(import.Exit == 0, $"exit {import.Exit}: {import.Output}\n{import.Error}");
        var totals = Totals(import.Output);
        Assert.Equal((600, 600), (totals.Rows, totals.RejectedByReason["invalid_field"]));
        var report = File.ReadAllText(file + ".rejects.csv");
        Assert.Contains(longName, report, StringComparison.Ordinal);

        // 500 orders with 3,000-character guide ids: over the 1 MiB a RecordOrders call takes, each refused on its own.
        var phone = TestData.Phone();
        await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone));
        var guide = new string('g', 3000);
        var orders = Path.Combine(directory, "long.jsonl");
        File.WriteAllLines(orders, Enumerable.Range(1, 500).Select(i =>
            $"{{\"member\":{{\"phone\":\"{phone}\"}},\"channel\":\"CHANNEL_POS\",\"orderId\":\"long-{i}\",\"storeId\":\"S001\",\"guideId\":\"{guide}\",\"amountFen\":100}}"));
        var replay = await CliProcess.RunAsync(server, "orders", "replay", orders, "--json");
        Assert.True(replay.Exit == 1, $"exit {replay.Exit}: {replay.Output}\n{replay.Error}");
        var response = JsonParser.Default.Parse<RecordOrdersResponse>(replay.Output);
        Assert.Equal(500, response.Results.Count);
        Assert.All(response.Results, r => Assert.Equal("guide_id", r.Error?.Field));
        Assert.Equal(Enumerable.Range(0, 500), response.Results.Select(r => r.Index));
    }

    [Fact]
    public async Task An_orders_file_in_any_order_and_longer_than_one_call_ends_as_recording_each_order_live()
    {
        // 700 orders of one member over 20 days: small ones first, then large ones that take it past gold (1.5x points). Sent
        // in paid_at order they earn 1x until gold; shuffled in file order and sent as they stand, a later call's small orders
        // would be recorded after the gold upgrade and earn 1.5x.
        var start = DateTimeOffset.UtcNow.AddDays(-25);
        string Line(string phone, string prefix, int i) => string.Create(CultureInfo.InvariantCulture,
            $"{{\"member\":{{\"phone\":\"{phone}\"}},\"channel\":\"CHANNEL_POS\",\"orderId\":\"{prefix}-{i}\",\"storeId\":\"S001\",\"amountFen\":{(i < 500 ? 1_000 : 30_000)},\"paidAt\":\"{start.AddMinutes(40 * i):yyyy-MM-ddTHH:mm:ssZ}\"}}");
        async Task<(RecordOrdersResponse Response, string State)> ReplayAsync(string name, bool shuffled)
        {
            var phone = TestData.Phone();
            await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone));
            var lines = Enumerable.Range(0, 700).Select(i => (i, Line(phone, name, i))).ToList();
            if (shuffled)
                new Random(7).Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(lines));
            var file = Path.Combine(directory, name + ".jsonl");
            File.WriteAllLines(file, lines.Select(l => l.Item2));
            var replay = await CliProcess.RunAsync(server, "orders", "replay", file, "--json");
            Assert.True(replay.Exit == 0, $"exit {replay.Exit}: {replay.Output}\n{replay.Error}");
            var response = JsonParser.Default.Parse<RecordOrdersResponse>(replay.Output);
            // Results come back in the file's order, each naming its own line.
            Assert.Equal(Enumerable.Range(0, 700), response.Results.Select(r => r.Index));
            // A 10-yuan order earns under 100 points at any multiplier, a 300-yuan one at least 300.
            Assert.All(response.Results, r => Assert.Equal(lines[r.Index].i < 500, r.Recorded.PointsEarned < 100));
            var key = new MemberKey { Phone = phone };
            var account = await server.Loyalty.GetPointsAccountAsync(new GetPointsAccountRequest { Member = key });
            var entries = await server.Loyalty.ListPointsEntriesAsync(new ListPointsEntriesRequest { Member = key, PageSize = 1000 });
            var earned = entries.Entries.Select(e => $"{e.Reference.Replace(name, "", StringComparison.Ordinal)}:{e.Points}").Order(StringComparer.Ordinal);
            return (response, $"balance {account.Balance}; {string.Join(",", earned)}");
        }

        var (_, live) = await ReplayAsync("inorder", shuffled: false);
        var (_, shuffledState) = await ReplayAsync("shuffled", shuffled: true);
        Assert.Equal(live, shuffledState);
        Assert.Empty((await server.Loyalty.VerifyLedgerAsync(new VerifyLedgerRequest())).Problems);
    }

    [Fact]
    public async Task An_orders_replay_whose_later_call_fails_says_how_far_the_file_got_and_that_a_rerun_is_safe()
    {
        // Two orders of 500 KiB cannot share a call (the CLI closes a call at 900 KiB): the file goes in two calls. The
        // first order is refused on its own at once (its guide id is too long), so the first call ends in milliseconds
        // and takes the only token of a client allowed one call a second; the second call, made right after it, is
        // refused whole.
        var key = await server.CreateClientAsync("till", ClientRole.Admin, requestsPerSecond: 1);
        var phone = TestData.Phone();
        await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(phone));
        var longGuide = new string('g', 500 * 1024);
        string Order(int i, string guide) =>
            $"{{\"member\":{{\"phone\":\"{phone}\"}},\"channel\":\"CHANNEL_POS\",\"orderId\":\"two-{i}\",\"storeId\":\"S001\",\"guideId\":\"{guide}\",\"amountFen\":100}}";
        var orders = Path.Combine(directory, "two-calls.jsonl");
        File.WriteAllLines(orders, [Order(1, longGuide), Order(2, longGuide), Order(3, "G01")]);

        var replay = await CliProcess.RunAsync(server, "orders", "replay", orders, "--key", key);
        Assert.True(replay.Exit == 1, $"exit {replay.Exit}: {replay.Output}\n{replay.Error}");
        Assert.True(replay.Error.Contains("order 1: answered (0 recorded, 0 replayed, 1 refused)", StringComparison.Ordinal), replay.Error);
        Assert.Contains("The call with orders 2-3 failed: orders from 2 on may not be recorded", replay.Error, StringComparison.Ordinal);
        Assert.Contains("Run the same file again", replay.Error, StringComparison.Ordinal);
        Assert.Contains("RATE_LIMITED", replay.Error, StringComparison.Ordinal);

        // The rerun the message asks for (with a client the rate does not stop) records what the cut call did not.
        var rerun = await CliProcess.RunAsync(server, "orders", "replay", orders, "--json");
        Assert.True(rerun.Exit == 1, $"exit {rerun.Exit}: {rerun.Output}\n{rerun.Error}");
        var response = JsonParser.Default.Parse<RecordOrdersResponse>(rerun.Output);
        Assert.Equal(["guide_id", "guide_id"], response.Results.Take(2).Select(r => r.Error?.Field));
        Assert.True(response.Results[2].Recorded is { Replayed: false }, response.Results[2].ToString());
    }

    /// <summary>
    /// A dirty export of about 4,000 rows (for 2,000 people): people with one to three rows (same phone in different written forms, with
    /// channel identities), fans without a phone, exact duplicates, and bad points, birthdays and phones.
    /// </summary>
    static string Export(int people)
    {
        var random = new Random(11);
        var csv = new StringBuilder("source_row_key,channel,external_id,phone,name,points_balance,birthday\r\n");
        var key = 0;
        for (var person = 0; person < people; person++)
        {
            var phone = $"139{person:D8}";
            var accounts = 1 + random.Next(3);
            for (var a = 0; a < accounts; a++)
            {
                key++;
                var written = (a % 3) switch { 0 => phone, 1 => $"+86 (0){phone[..3]} {phone[3..7]} {phone[7..]}", _ => $"0086-{phone}" };
                var (points, birthday) = random.Next(40) switch { 0 => ("abc", ""), 1 => ("5", "1990-02-30"), _ => (random.Next(500).ToString(), "1990-05-04") };
                csv.Append($"K{key},{(a == 0 ? "pos" : "tmall")},acct-{person}-{a},{(random.Next(50) == 0 ? "12345" : written)},\"人{person}, \"\"{a}\"\"\",{points},{birthday}\r\n");
                if (random.Next(60) == 0)
                    csv.Append($"K{key},{(a == 0 ? "pos" : "tmall")},acct-{person}-{a},{written},dup,1,\r\n");
            }
            if (random.Next(10) == 0)
                csv.Append($"F{person},miniprogram,fan-{person},,粉丝{person},3,\r\n");
        }
        return csv.ToString();
    }

    async Task<GetImportResponse> WaitForRowsAsync(IdentityServer on, string importId, long rows, Process cli)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                var import = await new ImportService.ImportServiceClient(on.WithKey(on.TestKey)).GetImportAsync(new GetImportRequest { ImportId = importId });
                if (import.Totals.Rows >= rows)
                    return import;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
            {
            }
            Assert.False(cli.HasExited, "the CLI finished before it could be cut: make the export longer");
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(60), "the import did not progress");
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task An_import_cut_by_ctrl_c_and_by_kill_then_resumed_ends_in_the_same_state_as_an_uninterrupted_one()
    {
        var text = Export(2000);
        var file = Write("legacy.csv", text, new UTF8Encoding(false));
        // Small batches, one in flight: the import takes long enough to be cut however fast the server writes.
        string[] import = ["import", file, "--source", "crm-resume", "--batch-size", "5", "--in-flight", "1"];

        // Ctrl-C: the CLI answers what is on the wire, saves its checkpoint and says how to continue.
        // The id the CLI derives (docs/import.md): the source, the start of the source's SHA-256 and of the file's.
        static string Sha256(byte[] bytes) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes));
        var importId = $"crm-resume:{Sha256(Encoding.UTF8.GetBytes("crm-resume"))[..8]}:{Sha256(File.ReadAllBytes(file))[..16]}";
        var interrupted = CliProcess.Start(server, import);
        await WaitForRowsAsync(server, importId, 200, interrupted);
        CliProcess.Interrupt(interrupted);
        var (exit, _, error) = await CliProcess.WaitAsync(interrupted, TimeSpan.FromSeconds(60));
        Assert.True(exit == 130, $"exit {exit}: {error}");
        Assert.Contains("--resume", error);
        var checkpoint = System.Text.Json.JsonDocument.Parse(File.ReadAllText(file + ".import-state.json")).RootElement;
        var acknowledged = checkpoint.GetProperty("acknowledged_through_row").GetInt64();
        Assert.InRange(acknowledged, 200, 3000);

        // kill -9 in the middle of the resume: no checkpoint beyond the last one written; the server replays the rest.
        var resumed = CliProcess.Start(server, [.. import, "--resume"]);
        await WaitForRowsAsync(server, importId, acknowledged + 300, resumed);
        resumed.Kill();
        await resumed.WaitForExitAsync();

        var final = await CliProcess.RunAsync(server, [.. import, "--resume", "--json"]);
        Assert.True(final.Exit == 0, $"exit {final.Exit}: {final.Output}\n{final.Error}");

        // The same file imported once, without interruption, into a fresh server.
        await using var reference = await IdentityServer.StartAsync();
        var copy = Write("legacy-copy.csv", text, new UTF8Encoding(false));
        var uninterrupted = await CliProcess.RunAsync(reference, "import", copy, "--source", "crm-resume", "--json");
        Assert.True(uninterrupted.Exit == 0, uninterrupted.Error);

        var expected = Totals(uninterrupted.Output);
        var actual = Totals(final.Output);
        Assert.True(expected.Rows > 3500 && expected.Merged > 0 && expected.Rejected > 0, expected.ToString());
        Assert.Equal(expected, actual);
        foreach (var table in new[] { "members", "channel_identities", "points_entries" })
            Assert.Equal(reference.Count(table), server.Count(table));
        Assert.Empty((await server.Loyalty.VerifyLedgerAsync(new VerifyLedgerRequest())).Problems);
        Assert.Equal(File.ReadAllText(copy + ".rejects.csv"), File.ReadAllText(file + ".rejects.csv"));
    }
}
