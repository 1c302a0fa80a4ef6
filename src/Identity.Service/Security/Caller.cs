using Identity.Service.Members;
using Identity.V1;

namespace Identity.Service.Security;

/// <summary>An authenticated caller, as the access rules and the handlers see it.</summary>
public sealed record Caller(string Id, string Name, ClientRole Role, IReadOnlySet<string> Stores, Channel Channel, int RequestsPerSecond)
{
    /// <summary>
    /// The members this caller may touch: a mini-program only those holding an identity of its own channel; everyone
    /// else is not narrowed by member (stores and roles narrow them instead).
    /// </summary>
    public MemberScope? MemberScope { get; } = Role == ClientRole.Miniprogram ? new MemberScope((int)Channel) : null;

    /// <summary>A POS client bound to stores must name one of them on every call.</summary>
    public bool IsStoreBound => Role == ClientRole.Pos && Stores.Count > 0;
}
