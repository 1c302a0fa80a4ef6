namespace Identity.Service.Members;

public sealed record MovedIdentity(int Channel, string ExternalId);
