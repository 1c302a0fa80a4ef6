extern alias cli;
using System.Text;
using cli::Identity.Cli.Commands;
using cli::Identity.Cli.Import;

namespace Identity.UnitTests.Cli;

public sealed class CsvInputTests : IDisposable
{
    readonly string directory = Directory.CreateTempSubdirectory("identity-cli-tests-").FullName;

    public void Dispose() => Directory.Delete(directory, recursive: true);

    string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(directory, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    static byte[] Gb18030(string text)
    {
        Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);
        return Encoding.GetEncoding("GB18030").GetBytes(text);
    }

    static List<(long Number, string[] Values)> Records(InputFile file, out IReadOnlyList<string> headers)
    {
        using var records = new CsvRecords(file);
        headers = records.Headers;
        return [.. records.Read()];
    }

    const string Tricky =
        "source_row_key,phone,name\r\n" +
        "1,13800000001,\"王, 芳\"\r\n" +
        "2,13800000002,\"李\"\"雷\"\"\"\r\n" +
        "3,13800000003,\"张\r\n伟\"\r\n" +
        "4,13800000004,\"\"\"韩\"\", 梅梅\nline two\"\r\n" +
        "5,13800000005,plain\r\n";

    [Fact]
    public void Quoted_commas_quotes_and_line_breaks_stay_in_their_field_and_records_are_numbered_not_lines()
    {
        var file = InputFile.Open(Write("tricky.csv", Encoding.UTF8.GetBytes(Tricky)), "utf-8", default);

        var records = Records(file, out var headers);

        Assert.Equal(["source_row_key", "phone", "name"], headers);
        Assert.Equal([1L, 2, 3, 4, 5], records.Select(r => r.Number));
        Assert.Equal(["王, 芳", "李\"雷\"", "张\r\n伟", "\"韩\", 梅梅\nline two", "plain"], records.Select(r => r.Values[2]));
        Assert.Equal("13800000004", records[3].Values[1]);
    }

    [Fact]
    public void A_quote_never_closed_stops_the_file_before_any_row_naming_its_line()
    {
        var path = Write("open.csv", Encoding.UTF8.GetBytes("source_row_key,phone,name\r\n1,13800000001,\"李\r\n2,13800000002,韩\r\n3,13800000003,王\r\n"));
        var error = Assert.Throws<UsageException>(() => InputFile.Open(path, "utf-8", default));
        Assert.Contains("line 2", error.Message, StringComparison.Ordinal);
        Assert.Throws<UsageException>(() => InputFile.Open(Write("open-gb.csv", Gb18030("source_row_key,phone,name\n1,13800000001,王芳\n2,13800000002,\"李\n")), "gb18030", default));

        // Quotes that close, in a quoted value or inside an unquoted one (as Sep reads them), are fine.
        var file = InputFile.Open(Write("closed.csv", Encoding.UTF8.GetBytes("source_row_key,phone,name\n1,13800000001,5'8\"x\"\n2,13800000002,\"a\"\"b\"\n")), "utf-8", default);
        Assert.Equal(2, Records(file, out _).Count);
    }

    [Fact]
    public void A_utf8_byte_order_mark_is_not_part_of_the_first_header()
    {
        var file = InputFile.Open(Write("bom.csv", [.. Encoding.UTF8.GetPreamble(), .. Encoding.UTF8.GetBytes("source_row_key,phone\n1,13800000001\n")]), "utf-8", default);

        var records = Records(file, out var headers);

        Assert.Equal("source_row_key", headers[0]);
        Assert.Single(records);
    }

    [Fact]
    public void A_gb18030_file_decodes_with_encoding_gb18030()
    {
        var text = "source_row_key,phone,name\n1,13800000001,\"王秀英, 𠀀\"\n2,13800000002,韩梅梅\n";
        var file = InputFile.Open(Write("gb.csv", Gb18030(text)), "gb18030", default);

        var records = Records(file, out _);

        Assert.Equal(["王秀英, 𠀀", "韩梅梅"], records.Select(r => r.Values[2]));
    }

    [Fact]
    public void A_gb18030_byte_order_mark_is_not_part_of_the_first_header()
    {
        var text = "source_row_key,phone,name\n1,13800000001,王芳\n";
        var file = InputFile.Open(Write("gb-bom.csv", [0x84, 0x31, 0x95, 0x33, .. Gb18030(text)]), "gb18030", default);

        var records = Records(file, out var headers);

        Assert.Equal(["source_row_key", "phone", "name"], headers);
        Assert.Equal("王芳", Assert.Single(records).Values[2]);
    }

    [Fact]
    public void A_gb18030_file_read_as_utf8_stops_before_any_row_with_a_hint()
    {
        var path = Write("gb.csv", Gb18030("source_row_key,phone,name\n1,13800000001,王芳\n"));

        var error = Assert.Throws<UsageException>(() => InputFile.Open(path, "utf-8", default));

        Assert.Contains("not UTF-8", error.Message);
        Assert.Contains("--encoding gb18030", error.Message);
    }

    [Fact]
    public void A_utf8_file_larger_than_a_read_buffer_is_valid_whatever_chunk_boundaries_cut()
    {
        var line = "1,13800000001,王芳𠀀\n";
        var text = "source_row_key,phone,name\n" + string.Concat(Enumerable.Repeat(line, 150_000));
        var file = InputFile.Open(Write("big.csv", Encoding.UTF8.GetBytes(text)), "utf-8", default);

        Assert.Equal(Encoding.UTF8.GetByteCount(text), file.Length);
    }

    [Theory]
    [InlineData(new byte[] { 0x61, 0xE7, 0x8E }, 1)] // 王 cut after two of its three bytes
    [InlineData(new byte[] { 0x61, 0xE7 }, 1)]
    [InlineData(new byte[] { 0x61, 0xE7, 0x8E, 0x8B }, 4)]
    [InlineData(new byte[] { 0xF0, 0xA0, 0x80 }, 0)]
    [InlineData(new byte[] { 0x61, 0x62 }, 2)]
    public void A_chunk_is_checked_up_to_its_last_whole_sequence(byte[] chunk, int complete)
    {
        Assert.Equal(complete, InputFile.CompletePrefix(chunk));
    }

    [Fact]
    public void The_same_file_and_source_give_the_same_valid_import_id_and_a_dry_run_another()
    {
        var a = InputFile.Open(Write("a.csv", Encoding.UTF8.GetBytes(Tricky)), "utf-8", default);
        var b = InputFile.Open(Write("b.csv", Encoding.UTF8.GetBytes(Tricky)), "utf-8", default);
        var changed = InputFile.Open(Write("c.csv", Encoding.UTF8.GetBytes(Tricky + "6,13800000006,x\r\n")), "utf-8", default);

        var id = ImportIds.Derive("crm 2019/旧系统", a.Sha256, dryRun: false);

        Assert.Equal(id, ImportIds.Derive("crm 2019/旧系统", b.Sha256, dryRun: false));
        Assert.NotEqual(id, ImportIds.Derive("crm 2019/旧系统", changed.Sha256, dryRun: false));
        Assert.NotEqual(id, ImportIds.Derive("crm 2019/旧系统", a.Sha256, dryRun: true));
        Assert.True(ImportIds.IsValid(id), id);
        Assert.True(ImportIds.IsValid(ImportIds.Derive(new string('x', 64), a.Sha256, dryRun: true)));
        // Sources that read alike once their other characters are replaced are other imports of the same file.
        Assert.NotEqual(ImportIds.Derive("crm 2019", a.Sha256, dryRun: false), ImportIds.Derive("crm_2019", a.Sha256, dryRun: false));
        Assert.NotEqual(ImportIds.Derive("旧CRM", a.Sha256, dryRun: false), ImportIds.Derive("新CRM", a.Sha256, dryRun: false));
        Assert.NotEqual(ImportIds.Derive(new string('x', 70) + "a", a.Sha256, dryRun: false), ImportIds.Derive(new string('x', 70) + "b", a.Sha256, dryRun: false));
    }

    [Fact]
    public void The_reject_report_quotes_like_rfc_4180_and_a_resume_keeps_only_the_rejects_it_will_not_resend()
    {
        var path = Path.Combine(directory, "rejects.csv");
        long checkpointLength;
        using (var report = RejectReport.Create(path, ["source_row_key", "name"]))
        {
            report.Add(3, "points_balance", "invalid_points", "The points balance is not a whole number.", ["K3", "王, \"芳\"\n2"]);
            checkpointLength = report.Flush();
            report.Add(9, "phone", "invalid_phone", "bad", ["K9", "x"]);
        }
        File.AppendAllText(path, "1"); // a row torn by a kill
        var text = File.ReadAllText(path);
        Assert.StartsWith("row,field,reason,detail,source_row_key,name", text);
        Assert.Contains("3,points_balance,invalid_points,The points balance is not a whole number.,K3,\"王, \"\"芳\"\"\n2\"", text);

        using (var resumed = RejectReport.Create(path, ["source_row_key", "name"], (checkpointLength, 1)))
        {
            Assert.Equal(1, resumed.Written);
            Assert.False(resumed.LostEarlierRejects);
            resumed.Add(12, "", "missing_identifier", "none", ["K12", ""]);
        }
        var lines = File.ReadAllText(path);
        Assert.Contains("K3", lines);
        Assert.DoesNotContain("K9", lines);
        Assert.EndsWith($"\"王, \"\"芳\"\"\n2\"{Environment.NewLine}12,,missing_identifier,none,K12,{Environment.NewLine}", lines);

        // The report deleted before the resume: it starts again, and says the earlier rejects are gone from it.
        File.Delete(path);
        using (var restarted = RejectReport.Create(path, ["source_row_key", "name"], (checkpointLength, 1)))
        {
            Assert.True(restarted.LostEarlierRejects);
            Assert.Equal(0, restarted.Written);
        }
    }
}
