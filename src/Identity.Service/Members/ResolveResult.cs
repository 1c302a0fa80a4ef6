using Identity.Service.Storage;

namespace Identity.Service.Members;

public sealed record ResolveResult(MemberRecord Member, string? RedirectedFrom);
