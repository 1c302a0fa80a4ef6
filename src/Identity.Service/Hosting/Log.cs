namespace Identity.Service.Hosting;

/// <summary>Every log line of the service. Phones appear only masked; names and keys never.</summary>
public static partial class Log
{
    [LoggerMessage(1, LogLevel.Warning,
        "No phone keys are configured: using the development key file {Path}. This is for development only; configure Identity:Keys:PhoneEncryptionKey and Identity:Keys:PhoneIndexKey in production.")]
    public static partial void DevelopmentPhoneKeys(ILogger logger, string path);

    [LoggerMessage(2, LogLevel.Information, "Database {Path} is migrated and ready ({Applied} migrations applied now).")]
    public static partial void DatabaseReady(ILogger logger, string path, int applied);

    [LoggerMessage(3, LogLevel.Error, "{Method} failed with {ExceptionType}.")]
    public static partial void CallFailed(ILogger logger, string method, string exceptionType, Exception exception);

    [LoggerMessage(4, LogLevel.Information, "Maintenance: {Lots} lots ({Points} points) expired, {Assessed} members assessed, {Downgraded} downgraded.")]
    public static partial void MaintenanceRan(ILogger logger, long lots, long points, long assessed, long downgraded);

    [LoggerMessage(5, LogLevel.Error, "Scheduled maintenance failed; it will run again at the next interval.")]
    public static partial void MaintenanceFailed(ILogger logger, Exception exception);

    [LoggerMessage(6, LogLevel.Warning, "Redis is unreachable ({FailureType}): serving from the in-process cache and the store.")]
    public static partial void RedisDown(ILogger logger, string failureType);

    [LoggerMessage(7, LogLevel.Information, "Redis is back: caching through it resumes and the outbox applies what it missed.")]
    public static partial void RedisBack(ILogger logger);

    [LoggerMessage(8, LogLevel.Warning, "Loading the newly published program failed; the periodic refresh will retry.")]
    public static partial void ProgramRefreshFailed(ILogger logger, Exception exception);

    [LoggerMessage(9, LogLevel.Warning, "Created the bootstrap admin client; its key is in {Path} (owner-only). Create per-system clients with `identity clients create` and keep keys in a secret store.")]
    public static partial void BootstrapKeyWritten(ILogger logger, string path);

    [LoggerMessage(10, LogLevel.Information, "Enrolled member {MemberId} with phone {MaskedPhone} via {Channel} (created: {Created}).")]
    public static partial void Enrolled(ILogger logger, string memberId, string maskedPhone, string channel, bool created);

    [LoggerMessage(11, LogLevel.Information, "Merged member {AbsorbedId} into {SurvivorId} ({Kind}).")]
    public static partial void Merged(ILogger logger, string absorbedId, string survivorId, string kind);

    [LoggerMessage(12, LogLevel.Information, "Member {MemberId} changed phone to {MaskedPhone}.")]
    public static partial void PhoneChanged(ILogger logger, string memberId, string maskedPhone);

    [LoggerMessage(13, LogLevel.Information, "Erased member {MemberId}.")]
    public static partial void Erased(ILogger logger, string memberId);

    [LoggerMessage(40, LogLevel.Warning,
        "The write-ahead log could not be emptied (readers held it, or the database was unavailable); it is emptied at the next erasure or orderly stop.")]
    public static partial void CheckpointIncomplete(ILogger logger);

    [LoggerMessage(62, LogLevel.Warning, "A background checkpoint of the write-ahead log failed; the next one tries again.")]
    public static partial void BackgroundCheckpointFailed(ILogger logger, Exception exception);

    [LoggerMessage(41, LogLevel.Information, "Completed {Count} erasures made before erasure removed everything.")]
    public static partial void ErasuresCompleted(ILogger logger, int count);

    [LoggerMessage(14, LogLevel.Information, "Refused a malformed request ({Kind}) to {Method}: {Reason} ({Suppressed} more like it since the last line).")]
    public static partial void MalformedRequest(ILogger logger, string kind, string method, string reason, int suppressed);

    [LoggerMessage(15, LogLevel.Warning, "{Method}: the store is {Fault}; the caller was told to retry ({Suppressed} more like it since the last line).")]
    public static partial void StoreFault(ILogger logger, string method, string fault, int suppressed);

    [LoggerMessage(60, LogLevel.Warning, "Reading or applying the cache outbox failed; it is tried again at the next poll.")]
    public static partial void OutboxFailed(ILogger logger, Exception exception);

    [LoggerMessage(61, LogLevel.Warning, "The start lock could not be released; its connection is discarded, which releases it.")]
    public static partial void StartLockNotReleased(ILogger logger, Exception exception);
}
