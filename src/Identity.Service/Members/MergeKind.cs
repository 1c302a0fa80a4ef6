namespace Identity.Service.Members;

public enum MergeKind
{
    PhoneProof = 1,
    Operator = 2,
}
