using Identity.Service.Phones;
using Identity.V1;

namespace Identity.Service.Members;

public sealed record EnrollCommand(Phone? Phone, IReadOnlyList<IdentityKey> Identities, ProfileValues Profile, Source Source);
