using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Identity.Service.Storage;

/// <summary>
/// Plain SQL on a context's connection, in its transaction when it has one: for the statements every write runs (the
/// program version, the idempotency key, the common order), where EF's query and change-tracking work costs more than
/// the statement itself. Parameters are positional: <c>@p0</c>, <c>@p1</c>, … The SQL must suit both stores.
/// </summary>
public readonly partial struct RawSql(IdentityDbContext db, CancellationToken ct)
{
    /// <summary><c> FOR UPDATE</c> on PostgreSQL (a row read to be written is locked, as <see cref="PostgresRowLocks"/> does for EF reads), else empty.</summary>
    public string ForUpdate => db.Database.ProviderName == ProviderMigrationsAssembly.PostgresProvider ? " FOR UPDATE" : "";

    /// <summary>The first row, read by <paramref name="read"/>; null when there is none.</summary>
    public async Task<T?> ReadAsync<T>(string text, Func<DbDataReader, T> read, params object?[] values) where T : class
    {
        await using var command = await CreateAsync(text, values);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? read(reader) : null;
    }

    /// <summary>The first column of the first row as a long; null when there is no row or the value is null.</summary>
    public async Task<long?> ScalarAsync(string text, params object?[] values)
    {
        await using var command = await CreateAsync(text, values);
        return await command.ExecuteScalarAsync(ct) is { } value and not DBNull ? Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture) : null;
    }

    /// <summary>Rows affected.</summary>
    public async Task<int> ExecuteAsync(string text, params object?[] values)
    {
        await using var command = await CreateAsync(text, values);
        return await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// Several statements, each returning rows (a SELECT, or a write with RETURNING): every row of each, in order. Where
    /// the provider batches (PostgreSQL), they travel in one round trip; SQLite runs them in turn (in process, no trip).
    /// </summary>
    public async Task<List<List<object?[]>>> QueryAsync(params (string Text, object?[] Values)[] statements)
    {
        var results = new List<List<object?[]>>(statements.Length);
        var connection = await OpenAsync();
        if (!connection.CanCreateBatch)
        {
            foreach (var (text, values) in statements)
            {
                await using var command = await CreateAsync(text, values);
                await using var reader = await command.ExecuteReaderAsync(ct);
                results.Add(await RowsAsync(reader));
            }
            return results;
        }
        await using var batch = connection.CreateBatch();
        batch.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
        foreach (var (text, values) in statements)
        {
            // Positional ($1, $2, …) with unnamed parameters: the batch is sent as written.
            var command = batch.CreateBatchCommand();
            command.CommandText = Placeholder().Replace(text, m => "$" + (int.Parse(m.Groups[1].ValueSpan, System.Globalization.CultureInfo.InvariantCulture) + 1));
            foreach (var value in values)
            {
                var parameter = command.CreateParameter();
                parameter.Value = value ?? DBNull.Value;
                command.Parameters.Add(parameter);
            }
            batch.BatchCommands.Add(command);
        }
        await using (var reader = await batch.ExecuteReaderAsync(ct))
        {
            do
                results.Add(await RowsAsync(reader));
            while (await reader.NextResultAsync(ct));
        }
        if (results.Count != statements.Length)
            throw new InvalidOperationException($"A batch of {statements.Length} statements returned {results.Count} results: each must return rows.");
        return results;
    }

    async Task<List<object?[]>> RowsAsync(DbDataReader reader)
    {
        var rows = new List<object?[]>();
        while (await reader.ReadAsync(ct))
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            rows.Add(row);
        }
        return rows;
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"@p(\d+)")]
    private static partial System.Text.RegularExpressions.Regex Placeholder();

    async Task<DbConnection> OpenAsync()
    {
        var connection = db.Database.GetDbConnection();
        if (connection.State != System.Data.ConnectionState.Open)
            await db.Database.OpenConnectionAsync(ct); // closed again with the context
        return connection;
    }

    async Task<DbCommand> CreateAsync(string text, object?[] values)
    {
        var connection = await OpenAsync();
        var command = connection.CreateCommand();
        command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
        command.CommandText = text;
        for (var i = 0; i < values.Length; i++)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = "p" + i;
            parameter.Value = values[i] ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }
        return command;
    }
}
