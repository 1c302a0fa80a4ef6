using Identity.Service.Caching;
using Identity.Service.Members;
using Identity.Service.Phones;
using Identity.Service.Storage;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Loyalty.Writes;

/// <summary>The daily check-in: points once per member per brand-local day.</summary>
public sealed class DailyCheckIn(ProgramCatalog catalog, PhoneProtector protector, TimeProvider clock)
{
    public async Task<CheckInResult> CheckInAsync(IdentityDbContext db, CacheChange change, CheckInCommand command, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var program = await catalog.ForWriteAsync(db, ct);
        var (member, _) = await MemberQueries.ResolveAsync(db, protector, command.Member, ct);
        var localDate = PointsMath.LocalDate(program, command.At).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var account = await LoyaltyAccounts.EnsureAsync(db, program, member, now, ct);
        await PointsLedger.ExpireDueAsync(db, account, now, ct);

        // The brand-local day is the key: the second check-in that day grants nothing.
        if (await db.CheckIns.AnyAsync(c => c.MemberId == member.Id && c.LocalDate == localDate, ct))
            return new CheckInResult(member.Id, 0, true, localDate, account.PointsBalance);

        var points = program.Points.CheckInPoints;
        PointsLedger.Earn(db, account, V1.PointsEntryKind.Earn, points, PointsMath.ExpiresAt(program, command.At), $"checkin:{localDate}", "daily check-in", now);
        db.CheckIns.Add(new CheckInRecord { MemberId = member.Id, LocalDate = localDate, Points = points, At = command.At });
        LoyaltyAccounts.Touch(account, now);
        return new CheckInResult(member.Id, points, false, localDate, account.PointsBalance);
    }
}
