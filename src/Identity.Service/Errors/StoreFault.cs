using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Identity.Service.Errors;

/// <summary>The store faults a caller should retry rather than report: they are the server's state, not the request's.</summary>
public enum StoreFault
{
    /// <summary>
    /// Another writer held the store longer than the busy timeout (SQLITE_BUSY, SQLITE_LOCKED, the write gate); on
    /// PostgreSQL, the server cannot be reached or takes no more connections, or a write lost every retry to concurrent ones.
    /// </summary>
    Busy,

    /// <summary>The store could not grow its files (SQLITE_FULL, SQLITE_IOERR while writing, ENOSPC; PostgreSQL's disk_full).</summary>
    Full,
}

/// <summary>Recognises store faults anywhere in an exception's chain (EF Core wraps SQLite's in DbUpdateException).</summary>
public static class StoreFaults
{
    const int SqliteBusy = 5;
    const int SqliteLocked = 6;
    const int SqliteIoError = 10;
    const int SqliteFull = 13;
    const int NoSpaceLeftOnDevice = 28; // ENOSPC
    const int DiskFullWindows = unchecked((int)0x80070070);

    public static StoreFault? Classify(Exception exception)
    {
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case StoreBusyException:
                    return StoreFault.Busy;
                case SqliteException { SqliteErrorCode: SqliteBusy or SqliteLocked }:
                    return StoreFault.Busy;
                case SqliteException { SqliteErrorCode: SqliteFull or SqliteIoError }:
                    return StoreFault.Full;
                case PostgresException { SqlState: PostgresErrorCodes.DiskFull }:
                    return StoreFault.Full;
                case PostgresException postgres when IsTransient(postgres.SqlState):
                    return StoreFault.Busy;
                case PostgresException:
                    return null;
                case NpgsqlException { IsTransient: true }:
                    return StoreFault.Busy; // connection refused or lost, a timeout, an exhausted pool
                case StoreContendedException:
                    return StoreFault.Busy;
                case IOException io when (io.HResult & 0xFFFF) == NoSpaceLeftOnDevice || io.HResult == DiskFullWindows
                    || io.Message.Contains("No space left on device", StringComparison.Ordinal):
                    return StoreFault.Full;
                case DbException:
                    return null;
            }
        }
        return null;
    }

    /// <summary>
    /// PostgreSQL states that pass by themselves: connection trouble (class 08), too many connections, a server shutting
    /// down or starting, and a serialization failure or deadlock that escaped the write retries.
    /// </summary>
    static bool IsTransient(string state) => state.StartsWith("08", StringComparison.Ordinal) || state is
        PostgresErrorCodes.TooManyConnections or PostgresErrorCodes.AdminShutdown or PostgresErrorCodes.CrashShutdown
        or PostgresErrorCodes.CannotConnectNow or PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected
        or PostgresErrorCodes.LockNotAvailable;
}

/// <summary>A write waited for this process's write gate longer than the store's busy timeout.</summary>
public sealed class StoreBusyException(TimeSpan waited) : Exception($"The write gate stayed busy for {waited.TotalSeconds:0.#} s.");
