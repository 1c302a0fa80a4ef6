using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Identity.Service.Errors;

/// <summary>The store faults a caller should retry rather than report: they are the server's state, not the request's.</summary>
public enum StoreFault
{
    /// <summary>Another writer held the store longer than the busy timeout (SQLITE_BUSY, SQLITE_LOCKED, the write gate).</summary>
    Busy,

    /// <summary>The store could not grow its files (SQLITE_FULL, SQLITE_IOERR while writing, ENOSPC).</summary>
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
                case IOException io when (io.HResult & 0xFFFF) == NoSpaceLeftOnDevice || io.HResult == DiskFullWindows
                    || io.Message.Contains("No space left on device", StringComparison.Ordinal):
                    return StoreFault.Full;
                case DbException:
                    return null;
            }
        }
        return null;
    }
}

/// <summary>A write waited for this process's write gate longer than the store's busy timeout.</summary>
public sealed class StoreBusyException(TimeSpan waited) : Exception($"The write gate stayed busy for {waited.TotalSeconds:0.#} s.");
