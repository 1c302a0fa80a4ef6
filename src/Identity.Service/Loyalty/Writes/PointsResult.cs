namespace Identity.Service.Loyalty.Writes;

/// <summary>Points spent or granted by a redemption or adjustment (signed), and the balance right after.</summary>
public sealed record PointsResult(string MemberId, long Points, long PointsBalance);
