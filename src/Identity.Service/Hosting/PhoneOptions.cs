namespace Identity.Service.Hosting;

/// <summary>The <c>Identity:Phones</c> section.</summary>
public sealed class PhoneOptions
{
    /// <summary>
    /// When true, a POS or mini-program caller cannot create a member whose phone is a fixed line: a brand that wants
    /// every new member reachable by SMS turns it on. Enrolling an existing member, admin calls and imports are never
    /// refused for it. Default false.
    /// </summary>
    public bool RequireMobileForNewMembers { get; set; }
}
