namespace Identity.Service.Loyalty.Writes;

/// <summary>A check-in: points granted (0 when the member had already checked in that brand-local day).</summary>
public sealed record CheckInResult(string MemberId, long PointsGranted, bool AlreadyCheckedIn, string LocalDate, long PointsBalance);
