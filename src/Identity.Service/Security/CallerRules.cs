using Grpc.Core;
using Identity.Service.Errors;
using Identity.Service.Loyalty.Writes;
using Identity.Service.Members;
using Identity.V1;

namespace Identity.Service.Security;

/// <summary>
/// What a caller may touch, decided by the handlers on what a call resolves to: the member (for a mini-program), the
/// store (for a store-bound POS), the stored order (for a refund). Roles per RPC are decided before, by
/// <see cref="RpcAccessHandler"/>.
/// </summary>
public static class CallerRules
{
    /// <summary>The lookup held to the caller's member scope: a member outside it answers like no member.</summary>
    public static T Scoped<T>(this Caller caller, T lookup) where T : MemberLookup =>
        caller.MemberScope is null ? lookup : lookup with { Scope = caller.MemberScope };

    /// <summary>A store-bound POS client names one of its stores on every call, reads included.</summary>
    public static void RequireStore(this Caller caller, string? storeId, string field)
    {
        if (!caller.IsStoreBound)
            return;
        if (string.IsNullOrEmpty(storeId))
            throw IdentityException.Invalid(field, "is required: this POS client acts for its stores and must name the one it acts for");
        if (!caller.Stores.Contains(storeId))
            throw Denied($"This POS client may not act for store {storeId}; it acts for {string.Join(", ", caller.Stores.Order(StringComparer.Ordinal))}.");
    }

    /// <summary>A mini-program acts only through its own channel's identities (and the WeChat unionid).</summary>
    public static void RequireOwnChannel(this Caller caller, int channel, string field)
    {
        if (caller.MemberScope is { } scope && channel != (int)Channel.Unspecified && !scope.Shows(channel))
            throw Denied($"This client acts for {caller.Channel} only; {field} names {(Channel)channel}.");
    }

    /// <summary>The orders the caller may refund.</summary>
    public static OrderScope OrderScope(this Caller caller) => caller.Role switch
    {
        ClientRole.Admin => Loyalty.Writes.OrderScope.Any,
        _ => new OrderScope((int)Channel.Pos, caller.IsStoreBound ? caller.Stores : null),
    };

    /// <summary>The member as this caller may see it: a mini-program sees its own channel's identities and the unionid only.</summary>
    public static Member Visible(this Caller caller, Member member)
    {
        if (caller.MemberScope is not { } scope || member.ChannelIdentities.All(i => scope.Shows((int)i.Channel)))
            return member;
        var visible = member.Clone();
        visible.ChannelIdentities.Clear();
        visible.ChannelIdentities.AddRange(member.ChannelIdentities.Where(i => scope.Shows((int)i.Channel)));
        return visible;
    }

    /// <summary>A merge record as this caller may see it: moved identities of other channels are left out.</summary>
    public static MergeRecord Visible(this Caller caller, MergeRecord merge)
    {
        if (caller.MemberScope is not { } scope)
            return merge;
        var visible = merge.Clone();
        visible.MovedIdentities.Clear();
        visible.MovedIdentities.AddRange(merge.MovedIdentities.Where(i => scope.Shows((int)i.Channel)));
        return visible;
    }

    static RpcException Denied(string message) => GrpcStatusReply.Exception(StatusCode.PermissionDenied, "PERMISSION_DENIED", message);
}
