extern alias cli;
using cli::Identity.Cli.Commands;
using cli::Identity.Cli.Import;

namespace Identity.UnitTests.Cli;

public sealed class ColumnMapTests
{
    static int Column(int[] indexes, string field) => indexes[ColumnMap.IndexOf(field)];

    [Fact]
    public void By_default_each_field_reads_the_column_named_like_it_ignoring_case_and_spaces()
    {
        var indexes = ColumnMap.Create([]).Bind(["Phone", " source_row_key ", "NAME", "other"]);

        Assert.Equal(1, Column(indexes, "source_row_key"));
        Assert.Equal(0, Column(indexes, "phone"));
        Assert.Equal(2, Column(indexes, "name"));
        Assert.Equal(-1, Column(indexes, "birthday"));
    }

    [Fact]
    public void Map_entries_rename_columns()
    {
        var indexes = ColumnMap.Create(["phone=手机号", "name=姓名", "source_row_key=会员编号"]).Bind(["会员编号", "姓名", "手机号", "phone"]);

        Assert.Equal(0, Column(indexes, "source_row_key"));
        Assert.Equal(1, Column(indexes, "name"));
        Assert.Equal(2, Column(indexes, "phone"));
    }

    [Fact]
    public void A_map_file_is_read_and_the_command_line_overrides_it()
    {
        var path = Path.GetTempFileName();
        try
        {
            File.WriteAllLines(path, ["# CRM 2019 export", "phone=手机号", "", "name = 姓名 ", "source_row_key=卡号"]);

            var indexes = ColumnMap.Create(["name=会员姓名"], path).Bind(["卡号", "手机号", "姓名", "会员姓名"]);

            Assert.Equal(0, Column(indexes, "source_row_key"));
            Assert.Equal(1, Column(indexes, "phone"));
            Assert.Equal(3, Column(indexes, "name"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("mobile=手机号", "unknown field 'mobile'")]
    [InlineData("phone", "is not field=Header")]
    [InlineData("phone=", "is not field=Header")]
    [InlineData("=手机号", "is not field=Header")]
    public void A_bad_entry_is_a_usage_error(string entry, string message)
    {
        var error = Assert.Throws<UsageException>(() => ColumnMap.Create([entry]));

        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void A_mapped_header_missing_from_the_file_is_a_usage_error_that_lists_the_columns()
    {
        var error = Assert.Throws<UsageException>(() => ColumnMap.Create(["phone=手机号"]).Bind(["source_row_key", "mobile"]));

        Assert.Contains("no column '手机号' for phone", error.Message);
        Assert.Contains("'mobile'", error.Message);
    }

    [Fact]
    public void Two_columns_a_field_could_read_are_a_usage_error_and_two_columns_no_field_reads_are_not()
    {
        var error = Assert.Throws<UsageException>(() => ColumnMap.Create([]).Bind(["source_row_key", "phone", " PHONE "]));
        Assert.Contains("2 columns are named 'phone' (columns 2, 3)", error.Message);

        var indexes = ColumnMap.Create(["phone=手机号"]).Bind(["source_row_key", "phone", "phone", "手机号", "备注", "备注"]);
        Assert.Equal(3, indexes[ColumnMap.IndexOf("phone")]);
    }

    [Fact]
    public void A_file_without_a_row_key_or_any_identifier_column_is_a_usage_error()
    {
        var noKey = Assert.Throws<UsageException>(() => ColumnMap.Create([]).Bind(["phone", "name"]));
        var noIdentifier = Assert.Throws<UsageException>(() => ColumnMap.Create([]).Bind(["source_row_key", "name"]));

        Assert.Contains("--map source_row_key=HEADER", noKey.Message);
        Assert.Contains("phone, external_id, union_id", noIdentifier.Message);
    }
}
