using System.Data.Common;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace Identity.Service.Storage;

/// <summary>
/// Inside a PostgreSQL write transaction, loading a member row or a loyalty account row locks it (<c>FOR UPDATE</c>).
/// Writes about one member then queue on its row from the moment they read it, each reading what the one before it
/// committed, instead of all reading the same state and all but one failing at their update (which, under a steady stream
/// of writes to one hot member, can fail the same caller again and again). Only whole-entity loads of one table are
/// locked; projections (a version, an id) and queries with joins are left alone.
/// </summary>
sealed class PostgresRowLocks : DbCommandInterceptor
{
    static readonly (string Select, string From, string Alias)[] Locked =
    [
        ("SELECT m.\"Id\", ", "\nFROM members AS m\n", "m"),
        ("SELECT l.\"MemberId\", ", "\nFROM loyalty_accounts AS l\n", "l"),
    ];

    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        Lock(command, eventData);
        return result;
    }

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData,
        InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        Lock(command, eventData);
        return ValueTask.FromResult(result);
    }

    static void Lock(DbCommand command, CommandEventData eventData)
    {
        // Reads outside a transaction (ReadAsync) never lock; every PostgreSQL transaction is a write (PostgresWrites).
        if (command.Transaction is null || eventData.Context is null)
            return;
        var sql = command.CommandText;
        foreach (var (select, from, alias) in Locked)
        {
            if (sql.StartsWith(select, StringComparison.Ordinal) && sql.Contains(from, StringComparison.Ordinal)
                && !sql.Contains("JOIN", StringComparison.Ordinal) && !sql.Contains(" FOR UPDATE", StringComparison.Ordinal))
            {
                command.CommandText = sql.TrimEnd().TrimEnd(';') + " FOR UPDATE OF " + alias;
                return;
            }
        }
    }
}
