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
        await using var reader = await command.Command.ExecuteReaderAsync(ct);
        return await reader.ReadAsync(ct) ? read(reader) : null;
    }

    /// <summary>The first column of the first row as a long; null when there is no row or the value is null.</summary>
    public async Task<long?> ScalarAsync(string text, params object?[] values)
    {
        await using var command = await CreateAsync(text, values);
        return await command.Command.ExecuteScalarAsync(ct) is { } value and not DBNull ? Convert.ToInt64(value, System.Globalization.CultureInfo.InvariantCulture) : null;
    }

    /// <summary>Rows affected.</summary>
    public async Task<int> ExecuteAsync(string text, params object?[] values)
    {
        await using var command = await CreateAsync(text, values);
        return await command.Command.ExecuteNonQueryAsync(ct);
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
                await using var reader = await command.Command.ExecuteReaderAsync(ct);
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

    async Task<Lease> CreateAsync(string text, object?[] values)
    {
        var connection = await OpenAsync();
        var transaction = db.Database.CurrentTransaction?.GetDbTransaction();
        if (Prepared.TryGetValue(connection, out var prepared) && prepared.Get(text, values.Length) is { } kept)
        {
            kept.Transaction = transaction;
            for (var i = 0; i < values.Length; i++)
                kept.Parameters[i].Value = values[i] ?? DBNull.Value;
            return new Lease(kept, Owned: false);
        }
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = text;
        for (var i = 0; i < values.Length; i++)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = "p" + i;
            parameter.Value = values[i] ?? DBNull.Value;
            command.Parameters.Add(parameter);
        }
        if (prepared?.Keep(text, command) == true)
            return new Lease(command, Owned: false);
        return new Lease(command, Owned: true);
    }

    /// <summary>A command, disposed after use unless a connection keeps it prepared.</summary>
    readonly record struct Lease(DbCommand Command, bool Owned) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Owned ? Command.DisposeAsync() : ValueTask.CompletedTask;
    }

    static readonly System.Runtime.CompilerServices.ConditionalWeakTable<DbConnection, PreparedCommands> Prepared = [];

    /// <summary>
    /// Keeps the commands run on <paramref name="connection"/> prepared, by their text, until <see cref="Forget"/>: for a
    /// connection used by one thread at a time for its whole life (the SQLite writer's), where preparing the same dozen
    /// statements again for every write cost about a quarter of the writer's time.
    /// </summary>
    public static void KeepPrepared(DbConnection connection) => Prepared.AddOrUpdate(connection, new PreparedCommands());

    /// <summary>Disposes the commands kept for <paramref name="connection"/>.</summary>
    public static void Forget(DbConnection connection)
    {
        if (Prepared.TryGetValue(connection, out var prepared))
        {
            Prepared.Remove(connection);
            prepared.Dispose();
        }
    }

    /// <summary>The commands of one connection by their text; at most <see cref="Capacity"/> (the rest are prepared per use).</summary>
    sealed class PreparedCommands : IDisposable
    {
        const int Capacity = 128;
        readonly Dictionary<string, DbCommand> commands = new(StringComparer.Ordinal);

        public DbCommand? Get(string text, int parameters) =>
            commands.TryGetValue(text, out var command) && command.Parameters.Count == parameters ? command : null;

        public bool Keep(string text, DbCommand command)
        {
            if (commands.Count >= Capacity || commands.ContainsKey(text))
                return false;
            commands.Add(text, command);
            return true;
        }

        public void Dispose()
        {
            foreach (var command in commands.Values)
                command.Dispose();
            commands.Clear();
        }
    }
}
