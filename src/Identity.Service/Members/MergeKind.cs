using Identity.Service.Phones;
using Identity.V1;

namespace Identity.Service.Members;

public enum MergeKind
{
    PhoneProof = 1,
    Operator = 2,
}
