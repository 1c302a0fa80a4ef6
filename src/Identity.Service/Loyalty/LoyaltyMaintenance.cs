using Identity.Service.Storage;
using Identity.V1;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Loyalty;

/// <summary>
/// Points expiry and tier assessment as of an instant. Each member is handled in its own short transaction that
/// re-checks what is due, so a repeat run, or several instances running at once, changes nothing twice.
/// </summary>
public sealed class LoyaltyMaintenance(
    IdentityStore store, Caching.CachedWrites writes, ProgramCatalog catalog, Security.AuditTrail audit,
    Microsoft.Extensions.Options.IOptions<Hosting.IdentityOptions> options, TimeProvider clock)
{
    const int Batch = 500;

    public async Task<RunMaintenanceResponse> RunAsync(DateTimeOffset? asOf, CancellationToken ct)
    {
        var at = asOf ?? clock.GetUtcNow();
        var result = new RunMaintenanceResponse();

        var withDueLots = await store.ReadAsync((db, token) => db.PointsLots
            .Where(l => l.Remaining > 0 && l.ExpiresAt <= at).Select(l => l.MemberId).Distinct().ToListAsync(token), ct);
        foreach (var chunk in withDueLots.Chunk(Batch))
        {
            var (lots, points) = await writes.WriteAsync(async (db, change, token) =>
            {
                var (lotCount, pointCount) = (0, 0L);
                foreach (var memberId in chunk)
                {
                    var account = await db.LoyaltyAccounts.FirstOrDefaultAsync(a => a.MemberId == memberId, token);
                    if (account is null)
                        continue;
                    var (l, p) = await PointsLedger.ExpireDueAsync(db, account, at, token);
                    if (l > 0)
                    {
                        LoyaltyAccounts.Touch(account, clock.GetUtcNow());
                    }
                    (lotCount, pointCount) = (lotCount + l, pointCount + p);
                }
                return (lotCount, pointCount);
            }, ct);
            result.LotsExpired += lots;
            result.PointsExpired += points;
        }

        var toAssess = await store.ReadAsync((db, token) => db.LoyaltyAccounts
            .Where(a => a.AssessmentAt <= at || a.PaidExpiresAt <= at).Select(a => a.MemberId).ToListAsync(token), ct);
        foreach (var chunk in toAssess.Chunk(Batch))
        {
            var (assessed, downgraded, paidEnded) = await writes.WriteAsync(async (db, change, token) =>
            {
                var program = await catalog.ForWriteAsync(db, token);
                var counts = (0, 0, 0);
                foreach (var memberId in chunk)
                {
                    var account = await db.LoyaltyAccounts.FirstAsync(a => a.MemberId == memberId, token);
                    if (account.AssessmentAt > at && !(account.PaidExpiresAt <= at))
                        continue; // another run got here first
                    account.Growth = await LoyaltyAccounts.GrowthAsync(db, program, memberId, at, token);
                    var (state, down, ended) = TierEvaluator.Assess(program, LoyaltyAccounts.State(account), account.Growth, at);
                    LoyaltyAccounts.Apply(account, state);
                    LoyaltyAccounts.Touch(account, clock.GetUtcNow());
                    counts = (counts.Item1 + 1, counts.Item2 + (down ? 1 : 0), counts.Item3 + (ended ? 1 : 0));
                }
                return counts;
            }, ct);
            result.MembersAssessed += assessed;
            result.MembersDowngraded += downgraded;
            result.PaidTiersEnded += paidEnded;
        }

        // Audit retention runs on the wall clock, not the as-of instant: a back-dated run must not keep old rows.
        var retention = TimeSpan.FromDays(Math.Max(1, options.Value.Maintenance.AuditRetentionDays));
        result.AuditEventsPruned = await audit.PruneAsync(clock.GetUtcNow() - retention, ct);
        return result;
    }
}

/// <summary>Runs maintenance on a schedule and keeps the in-memory program in step with the store.</summary>
public sealed class LoyaltyBackgroundJobs(LoyaltyMaintenance maintenance, ProgramCatalog catalog, Caching.RedisCache redis, TimeProvider clock,
    Microsoft.Extensions.Options.IOptions<Hosting.IdentityOptions> options, ILogger<LoyaltyBackgroundJobs> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        redis.Announced += what =>
        {
            if (what == LoyaltyGrpcService.ProgramAnnouncement)
                _ = Task.Run(async () =>
                {
                    try
                    {
                        await catalog.RefreshAsync(stoppingToken);
                    }
                    catch (Exception exception) when (exception is not OperationCanceledException)
                    {
                        Hosting.Log.ProgramRefreshFailed(logger, exception);
                    }
                }, stoppingToken);
        };
        var settings = options.Value.Maintenance;
        var nextMaintenance = clock.GetUtcNow().AddSeconds(settings.FirstRunDelaySeconds);
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(settings.ProgramRefreshSeconds), clock);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                await catalog.RefreshAsync(stoppingToken);
                if (settings.IntervalMinutes > 0 && clock.GetUtcNow() >= nextMaintenance)
                {
                    nextMaintenance = clock.GetUtcNow().AddMinutes(settings.IntervalMinutes);
                    var result = await maintenance.RunAsync(null, stoppingToken);
                    Hosting.Log.MaintenanceRan(logger, result.LotsExpired, result.PointsExpired, result.MembersAssessed, result.MembersDowngraded);
                }
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                Hosting.Log.MaintenanceFailed(logger, exception);
            }
        }
    }
}
