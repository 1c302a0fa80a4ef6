namespace Identity.Service.Members;

/// <summary>Where a write happened.</summary>
public sealed record Source(int Channel, string? StoreId, string? GuideId)
{
    public override string ToString() =>
        $"{(V1.Channel)Channel}" + (StoreId is null ? "" : $" store {StoreId}") + (GuideId is null ? "" : $" guide {GuideId}");
}
