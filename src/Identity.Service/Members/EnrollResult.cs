using Identity.Service.Storage;

namespace Identity.Service.Members;

public sealed record EnrollResult(MemberRecord Member, bool Created, IReadOnlyList<MergeRecordRow> Merges);
