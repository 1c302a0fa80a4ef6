using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Identity.Service.Storage;

/// <summary>
/// Plain SQL on a context's connection, in its transaction when it has one: for the statements every write runs (the
/// program version, the idempotency key, the common order), where EF's query and change-tracking work costs more than
/// the statement itself. Parameters are positional: <c>@p0</c>, <c>@p1</c>, … The SQL must suit both stores.
/// </summary>
public readonly struct RawSql(IdentityDbContext db, CancellationToken ct)
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

    async Task<DbCommand> CreateAsync(string text, object?[] values)
    {
        var connection = db.Database.GetDbConnection();
        if (connection.State != System.Data.ConnectionState.Open)
            await db.Database.OpenConnectionAsync(ct); // closed again with the context
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
