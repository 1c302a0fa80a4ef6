using System.Globalization;

namespace Identity.LoadTest;

/// <summary>
/// The deterministic identities of the seeded members: member <c>i</c> (0-based) has phone <c>139</c> followed by
/// <c>i</c> in 8 digits, and mini-program openid <c>oLoadTest</c> followed by <c>i</c> in 8 digits. Seeding and every
/// scenario derive keys from the index alone, so runs are repeatable and a second seed finds the same members.
/// </summary>
internal static class SeededMembers
{
    /// <summary>The largest member count: the index must fit in 8 digits.</summary>
    public const int MaxMembers = 100_000_000;

    /// <summary>The store every POS call names.</summary>
    public const string StoreId = "S001";

    public static string Phone(int index) => "139" + index.ToString("D8", CultureInfo.InvariantCulture);

    public static string OpenId(int index) => "oLoadTest" + index.ToString("D8", CultureInfo.InvariantCulture);
}
