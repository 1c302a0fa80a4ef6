using Identity.Service.Storage;

namespace Identity.Service.Members;

public sealed record BindResult(MemberRecord Member, bool AlreadyBound);
