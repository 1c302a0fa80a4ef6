namespace Identity.Service.Security;

/// <summary>Writes the buffered audit rows about once a second, and once more on shutdown.</summary>
public sealed partial class AuditWriter(AuditTrail audit, ILogger<AuditWriter> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
                await FlushAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushAsync(cancellationToken);
    }

    async Task FlushAsync(CancellationToken ct)
    {
        try
        {
            await audit.FlushAsync(ct);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            AuditWriteFailed(logger, exception.GetType().Name, exception.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Audit rows could not be written yet ({Kind}: {Reason}); they stay buffered and are retried.")]
    static partial void AuditWriteFailed(ILogger logger, string kind, string reason);
}
