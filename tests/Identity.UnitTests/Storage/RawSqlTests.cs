using Identity.Service.Storage;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;

namespace Identity.UnitTests.Storage;

/// <summary>Statements kept prepared on a connection (the SQLite writer's) run with each call's own values.</summary>
public sealed class RawSqlTests : IAsyncLifetime
{
    readonly string path = Path.Combine(Path.GetTempPath(), "identity-rawsql-" + Guid.NewGuid().ToString("N") + ".db");
    SqliteConnection connection = null!;
    IdentityDbContext db = null!;

    public async Task InitializeAsync()
    {
        connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        await connection.OpenAsync(CancellationToken.None);
        db = new IdentityDbContext(new DbContextOptionsBuilder<IdentityDbContext>().UseSqlite(connection).Options);
        await new RawSql(db, CancellationToken.None).ExecuteAsync("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT)");
    }

    public async Task DisposeAsync()
    {
        RawSql.Forget(connection);
        await db.DisposeAsync();
        await connection.DisposeAsync();
        File.Delete(path);
    }

    [Fact]
    public async Task A_kept_statement_runs_with_each_calls_values_inside_and_outside_transactions()
    {
        var ct = CancellationToken.None;
        RawSql.KeepPrepared(connection);
        var sql = new RawSql(db, ct);
        const string insert = "INSERT INTO t (k, v) VALUES (@p0, @p1) RETURNING k";
        await using (var transaction = await db.Database.BeginTransactionAsync(ct))
        {
            var first = await sql.QueryAsync((insert, [1L, "one"]), ("SELECT v FROM t WHERE k = @p0", [1L]));
            var second = await sql.QueryAsync((insert, [2L, null]), ("SELECT v FROM t WHERE k = @p0", [2L]));
            Assert.Equal("one", first[1][0][0]);
            Assert.Null(second[1][0][0]);
            await transaction.RollbackAsync(ct);
        }
        // Rolled back with its transaction; the same statements run again without one, with new values.
        Assert.Equal(0, await sql.ScalarAsync("SELECT COUNT(*) FROM t"));
        Assert.Equal(1, await sql.ExecuteAsync("INSERT INTO t (k, v) VALUES (@p0, @p1)", 3L, "three"));
        Assert.Equal(3, await sql.ScalarAsync("SELECT k FROM t WHERE v = @p0", "three"));
        Assert.Null(await sql.ScalarAsync("SELECT k FROM t WHERE v = @p0", "missing"));
        Assert.Equal("three", await sql.ReadAsync("SELECT v FROM t WHERE k = @p0", r => r.GetString(0), 3L));
    }

    [Fact]
    public async Task A_kept_statement_leaves_no_read_open_after_it_ran()
    {
        var ct = CancellationToken.None;
        await using (var wal = connection.CreateCommand())
        {
            wal.CommandText = "PRAGMA journal_mode = WAL";
            await wal.ExecuteNonQueryAsync(ct);
        }
        RawSql.KeepPrepared(connection);
        var sql = new RawSql(db, ct);
        await sql.ExecuteAsync("INSERT INTO t (k, v) VALUES (@p0, @p1)", 1L, "one");
        Assert.Equal("one", await sql.ReadAsync("SELECT v FROM t WHERE k = @p0", r => r.GetString(0), 1L));
        await sql.QueryAsync(("SELECT v FROM t WHERE k >= @p0", [0L]));

        // Another connection can write and truncate the log: no statement kept here still holds a read.
        await using var other = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        await other.OpenAsync(ct);
        await using var command = other.CreateCommand();
        command.CommandText = "INSERT INTO t (k, v) VALUES (2, 'two'); PRAGMA wal_checkpoint(TRUNCATE);";
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (!reader.HasRows && await reader.NextResultAsync(ct))
        {
        }
        Assert.True(await reader.ReadAsync(ct));
        Assert.Equal(0, reader.GetInt64(0)); // not blocked by a reader
        Assert.Equal("two", await sql.ReadAsync("SELECT v FROM t WHERE k = @p0", r => r.GetString(0), 2L));
    }
}
