using Identity.Service.Phones;

namespace Identity.Service.Members;

/// <param name="MobileRequiredToCreate">Refuse to create a member whose phone is a fixed line (an existing member is still found).</param>
public sealed record EnrollCommand(
    Phone? Phone, IReadOnlyList<IdentityKey> Identities, ProfileValues Profile, Source Source, bool MobileRequiredToCreate = false);
