using Identity.Service.Phones;

namespace Identity.Service.Members;

public sealed record EnrollCommand(Phone? Phone, IReadOnlyList<IdentityKey> Identities, ProfileValues Profile, Source Source);
