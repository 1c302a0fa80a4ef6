namespace Identity.Service.Members;

/// <summary>A channel identity key; (channel, external id) has exactly one owning member.</summary>
public readonly record struct IdentityKey(int Channel, string ExternalId);
