using System.Collections.Concurrent;

namespace Identity.IntegrationTests.Infrastructure;

/// <summary>Fresh phones and ids, so tests sharing a server never collide.</summary>
public static class TestData
{
    static readonly ConcurrentDictionary<string, byte> Used = new();

    /// <summary>Every phone handed out in this test run.</summary>
    public static ICollection<string> IssuedPhones => Used.Keys;

    /// <summary>Member names the tests use.</summary>
    public static readonly string[] Names = ["李雷", "韩梅梅", "王芳", "张伟", "隐私", "王秀英"];

    /// <summary>An unused mainland mobile as 11 plain digits, e.g. <c>13912345678</c>.</summary>
    public static string Phone()
    {
        while (true)
        {
            var candidate = $"1{Random.Shared.Next(3, 10)}{Random.Shared.Next(0, 1_000_000_000):D9}";
            if (Used.TryAdd(candidate, 0))
                return candidate;
        }
    }

    /// <summary>An unused mainland fixed line with its trunk 0: <c>010</c>, <c>021</c> or <c>0755</c> and 8 digits.</summary>
    public static string Landline()
    {
        string[] areas = ["010", "021", "0755"];
        while (true)
        {
            var candidate = $"{areas[Random.Shared.Next(areas.Length)]}{Random.Shared.Next(2, 10)}{Random.Shared.Next(0, 10_000_000):D7}";
            if (Used.TryAdd(candidate, 0))
                return candidate;
        }
    }

    /// <summary>The same phone written the way a legacy CRM export writes it: <c>86-139 1234 5678</c>.</summary>
    public static string CrmForm(string phone) => $"86-{phone[..3]} {phone[3..7]} {phone[7..]}";

    /// <summary>The same phone in full-width digits with a full-width plus, as some IMEs type it.</summary>
    public static string FullWidthForm(string phone) => "＋８６ " + string.Concat(phone.Select(c => (char)(c - '0' + '０')));

    public static string Masked(string phone) => $"{phone[..3]}****{phone[7..]}";

    public static string OpenId() => "o" + Guid.NewGuid().ToString("N")[..27];

    public static ChannelIdentity MiniProgram(string openId, string? unionId = null)
    {
        var identity = new ChannelIdentity { Channel = Channel.WechatMiniProgram, ExternalId = openId };
        if (unionId is not null)
            identity.UnionId = unionId;
        return identity;
    }

    public static Touchpoint Pos(string store = "S001", string guide = "G007") =>
        new() { Channel = Channel.Pos, StoreId = store, GuideId = guide };

    public static Touchpoint MiniProgramSource() => new() { Channel = Channel.WechatMiniProgram };

    public static EnrollMemberRequest EnrollAtPos(string phone, string name = "李雷") =>
        new() { Phone = phone, Profile = new Profile { Name = name, Gender = Gender.Male, Birthday = "1990-05-04" }, Source = Pos() };

    public static EnrollMemberRequest EnrollFan(string openId, string? unionId = null) =>
        new() { ChannelIdentity = MiniProgram(openId, unionId), Source = MiniProgramSource() };
}
