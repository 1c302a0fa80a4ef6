using Identity.Service.Storage;

namespace Identity.Service.Members;

/// <summary>
/// The members a narrowed caller may act on: those holding an identity of <see cref="Channel"/>. A member outside the
/// scope answers exactly like a member that does not exist, in every key form.
/// </summary>
public sealed record MemberScope(int Channel)
{
    public bool Admits(MemberRecord member) => member.Identities.Any(i => i.Channel == Channel);

    public bool Admits(V1.Member member)
    {
        foreach (var identity in member.ChannelIdentities)
            if ((int)identity.Channel == Channel)
                return true;
        return false;
    }

    /// <summary>Identities a narrowed caller may see: its own channel's and the WeChat unionid.</summary>
    public bool Shows(int channel) => channel == Channel || channel == (int)V1.Channel.WechatUnion;
}
