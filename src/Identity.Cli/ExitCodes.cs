namespace Identity.Cli;

internal static class ExitCodes
{
    public const int Ok = 0;
    public const int RpcError = 1;
    /// <summary>The call succeeded but reported problems (ledger verify found discrepancies).</summary>
    public const int Problems = 1;
    public const int Usage = 2;
    public const int Unreachable = 3;
    public const int Cancelled = 130;
}
