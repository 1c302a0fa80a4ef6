using Identity.Service.Caching;
using Identity.Service.Storage;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Loyalty.Writes;

/// <summary>The daily check-in: points once per member per brand-local day.</summary>
public sealed class DailyCheckIn(AccountOpening accounts)
{
    public async Task<CheckInResult> CheckInAsync(IdentityDbContext db, CacheChange change, CheckInCommand command, CancellationToken ct)
    {
        var (program, member, account, now) = await accounts.OpenAsync(db, command.Member, ct);
        var localDate = PointsMath.LocalDate(program, command.At).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

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
