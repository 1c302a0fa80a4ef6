using Identity.Cli.Import;
using System.Globalization;
using System.Text;

namespace Identity.LoadTest.Legacy;

/// <summary>
/// A realistic dirty legacy member export, deterministic per seed, with what importing it must give. People with a
/// phone have 1–6 accounts on different channels (each line a legacy account, the phone written in mixed forms:
/// full-width digits, +86 / 0086, spaces, dashes, brackets, trunk-0 mobiles, CN landlines); fans have only WeChat
/// identities joined by their unionid; names carry commas, quotes and line breaks. Bad lines come at realistic rates,
/// each built to hit exactly one reject reason; exact duplicate lines and identity conflicts come after the line they
/// repeat or collide with.
/// </summary>
public sealed class LegacyExport
{
    // Rates per line (the rest are good lines of people and fans).
    const double DuplicateRate = 0.010;
    const double ConflictRate = 0.005;
    static readonly (string Reason, double Rate)[] BadRates =
    [
        ("missing_identifier", 0.005), ("invalid_phone", 0.015), ("invalid_points", 0.010), ("invalid_birthday", 0.008),
        ("invalid_registered_at", 0.005), ("invalid_field", 0.010),
    ];
    const double FanShare = 0.10;
    const double LandlineShare = 0.04;

    static readonly string[] Surnames = ["王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗", "欧阳", "司马"];
    static readonly string[] GivenParts = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞", "平", "刚", "桂英", "小", "子", "晨", "雨", "欣", "怡"];
    static readonly string[] MobilePrefixes = ["133", "135", "136", "137", "138", "139", "150", "151", "152", "157", "158", "159", "166", "177", "180", "186", "187", "188", "189", "191", "198", "199"];
    static readonly string[] AreaCodes = ["10", "21", "20", "755", "571", "512", "28", "27"];
    static readonly string[] IdentityChannels = ["pos", "wechat_mini_program", "wechat_official_account", "tmall", "jd", "douyin", "app", ""];

    readonly Random random;
    readonly List<(LegacyLine Line, double Order)> placed = [];
    readonly HashSet<string> phonesUsed = new(StringComparer.Ordinal);
    long counter;
    int people;

    LegacyExport(int seed) => random = new Random(seed);

    public IReadOnlyList<LegacyLine> Lines { get; private set; } = [];
    public LegacyExpected Expected { get; private set; } = null!;

    public static LegacyExport Generate(int rows, int seed)
    {
        if (rows < 1)
            throw new ArgumentOutOfRangeException(nameof(rows), "At least one row.");
        var export = new LegacyExport(seed);
        export.Build(rows);
        return export;
    }

    void Build(int rows)
    {
        var duplicates = (int)(rows * DuplicateRate);
        var conflicts = (int)(rows * ConflictRate);
        var bad = BadRates.Select(b => (b.Reason, Count: (int)(rows * b.Rate))).ToList();
        var good = rows - duplicates - conflicts - bad.Sum(b => b.Count);

        // People and fans until the good lines are used up.
        var goodLines = new List<LegacyLine>(good);
        while (goodLines.Count < good)
        {
            var left = good - goodLines.Count;
            if (random.NextDouble() < FanShare)
                goodLines.AddRange(Fan(Math.Min(left, 1 + (random.NextDouble() < 0.4 ? 1 : 0))));
            else
                goodLines.AddRange(Person(Math.Min(left, AccountCount())));
        }
        foreach (var line in goodLines)
            placed.Add((line, random.NextDouble()));

        foreach (var (reason, count) in bad)
            for (var i = 0; i < count; i++)
                placed.Add((Bad(reason), random.NextDouble()));

        // Conflicts and duplicates go after the line they collide with or repeat.
        // Only identities of people with a phone: a fan's identity with a new phone is the fan proving it (accepted).
        var withIdentity = placed.Where(p => p.Line.ExpectedReason is null && p.Line[ImportFields.ExternalId] != "" && p.Line[ImportFields.Phone] != "").ToList();
        var withPhone = goodLines.Where(l => l[ImportFields.Phone] != "").ToList();
        for (var i = 0; i < conflicts && withIdentity.Count > 0 && withPhone.Count > 1; i++)
        {
            var (target, order) = withIdentity[random.Next(withIdentity.Count)];
            LegacyLine other;
            do other = withPhone[random.Next(withPhone.Count)];
            while (other.Person == target.Person);
            var conflict = Blank(null);
            conflict[ImportFields.SourceRowKey] = NextKey();
            conflict[ImportFields.Phone] = other[ImportFields.Phone];
            conflict[ImportFields.Channel] = target[ImportFields.Channel];
            conflict[ImportFields.ExternalId] = target[ImportFields.ExternalId];
            conflict[ImportFields.Name] = RandomName();
            conflict[ImportFields.PointsBalance] = random.Next(0, 3000).ToString(CultureInfo.InvariantCulture);
            var line = new LegacyLine(conflict.Values) { ExpectedReason = "identity_conflict", ConflictsWith = target };
            placed.Add((line, After(order)));
        }
        var goodPlaced = placed.Where(p => p.Line.ExpectedReason is null).ToList();
        for (var i = 0; i < duplicates; i++)
        {
            var (original, order) = goodPlaced[random.Next(goodPlaced.Count)];
            var copy = original.Copy();
            placed.Add((new LegacyLine(copy.Values) { Person = -1, ExpectedReason = "duplicate_row", ConflictsWith = original }, After(order)));
        }

        Lines = placed.OrderBy(p => p.Order).Select(p => p.Line).ToList();
        var firstSeen = new HashSet<int>();
        foreach (var line in Lines)
            if (line.ExpectedReason is null)
                line.Creates = firstSeen.Add(line.Person);

        var accepted = Lines.Where(l => l.ExpectedReason is null).ToList();
        var created = accepted.Count(l => l.Creates);
        var byReason = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var line in Lines.Where(l => l.ExpectedReason is not null))
            byReason[line.ExpectedReason!] = byReason.GetValueOrDefault(line.ExpectedReason!) + 1;
        Expected = new LegacyExpected
        {
            Rows = Lines.Count,
            Members = created,
            Accepted = accepted.Count,
            Created = created,
            Merged = accepted.Count - created,
            Rejected = Lines.Count - accepted.Count,
            RejectedByReason = byReason,
            PointsMigrated = accepted.Sum(l => l.Points),
            Bindings = accepted.SelectMany(l => l.Identities).Distinct(StringComparer.Ordinal).LongCount(),
            LandlineLines = accepted.Count(l => IsLandlineForm(l[ImportFields.Phone])),
            TrunkMobileLines = accepted.Count(l => IsTrunkMobileForm(l[ImportFields.Phone])),
        };
    }

    double After(double order) => order + (1 - order) * (0.001 + random.NextDouble() * 0.999);

    int AccountCount()
    {
        // Most people have one or two accounts; a few have up to six.
        var x = random.NextDouble();
        return x < 0.45 ? 1 : x < 0.70 ? 2 : x < 0.85 ? 3 : x < 0.93 ? 4 : x < 0.97 ? 5 : 6;
    }

    string NextKey() => "M" + (++counter).ToString("D9", CultureInfo.InvariantCulture);

    LegacyLine Blank(int? person) => new(new string[LegacyColumns.All.Count].Select(_ => "").ToArray()) { Person = person ?? -1 };

    IEnumerable<LegacyLine> Person(int accounts)
    {
        var person = people++;
        var landline = random.NextDouble() < LandlineShare;
        var (national, areaCode) = landline ? NewLandline() : (NewMobile(), null);
        var unionId = random.NextDouble() < 0.6 ? UnionId() : null;
        var name = RandomName();
        var gender = random.Next(3) switch { 0 => "男", 1 => "女", _ => "" };
        var birthday = random.Next(4) switch
        {
            0 => "",
            1 => $"--{random.Next(1, 13):D2}-{random.Next(1, 29):D2}",
            _ => $"{random.Next(1955, 2006)}-{random.Next(1, 13):D2}-{random.Next(1, 29):D2}",
        };
        var channels = IdentityChannels.OrderBy(_ => random.Next()).Take(accounts).ToList();
        foreach (var channel in channels)
        {
            var values = Blank(person);
            var identities = new List<string>();
            values[ImportFields.SourceRowKey] = NextKey();
            values[ImportFields.Phone] = areaCode is null ? WriteMobile(national) : WriteLandline(areaCode, national);
            // A tenth of the accounts are phone-only CRM cards (no channel identity).
            if (random.NextDouble() >= 0.1)
            {
                values[ImportFields.Channel] = channel;
                values[ImportFields.ExternalId] = ExternalId(channel);
                identities.Add($"{(channel == "" ? "crm_import" : channel)}:{values[ImportFields.ExternalId]}");
            }
            if (unionId is not null && channel is "wechat_mini_program" or "wechat_official_account" or "app")
            {
                values[ImportFields.UnionId] = unionId;
                identities.Add("union:" + unionId);
            }
            if (random.NextDouble() < 0.8)
                values[ImportFields.Name] = random.NextDouble() < 0.9 ? name : Tricky(name);
            values[ImportFields.Gender] = gender;
            values[ImportFields.Birthday] = random.NextDouble() < 0.7 ? birthday : "";
            Profile(values);
            var points = Loyalty(values);
            yield return new LegacyLine(values.Values) { Person = person, Points = points, Identities = identities };
        }
    }

    IEnumerable<LegacyLine> Fan(int accounts)
    {
        var person = people++;
        var unionId = UnionId();
        string[] channels = ["wechat_mini_program", "wechat_official_account"];
        for (var i = 0; i < accounts; i++)
        {
            var values = Blank(person);
            values[ImportFields.SourceRowKey] = NextKey();
            values[ImportFields.Channel] = channels[i];
            values[ImportFields.ExternalId] = ExternalId(channels[i]);
            values[ImportFields.UnionId] = unionId;
            values[ImportFields.Name] = random.NextDouble() < 0.3 ? RandomName() : "";
            Profile(values);
            var points = Loyalty(values);
            yield return new LegacyLine(values.Values)
            {
                Person = person, Points = points, Identities = [$"{channels[i]}:{values[ImportFields.ExternalId]}", "union:" + unionId],
            };
        }
    }

    void Profile(LegacyLine values)
    {
        var registered = new DateTime(2012, 1, 1).AddMinutes(random.Next(0, 12 * 365 * 24 * 60));
        values[ImportFields.RegisteredAt] = random.NextDouble() < 0.9 ? registered.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) : "";
        if (random.NextDouble() < 0.5)
        {
            values[ImportFields.StoreId] = "S" + random.Next(1, 400).ToString("D4", CultureInfo.InvariantCulture);
            if (random.NextDouble() < 0.5)
                values[ImportFields.GuideId] = "G" + random.Next(1, 3000).ToString("D5", CultureInfo.InvariantCulture);
        }
    }

    /// <summary>Points, growth and tiers of a good line; returns the points it migrates.</summary>
    long Loyalty(LegacyLine values)
    {
        long points = random.NextDouble() < 0.7 ? random.Next(0, 20_001) : 0;
        values[ImportFields.PointsBalance] = points == 0 && random.NextDouble() < 0.5 ? "" : points.ToString(CultureInfo.InvariantCulture);
        if (points > 0 && random.NextDouble() < 0.3)
            values[ImportFields.PointsExpireAt] = $"{random.Next(2030, 2033)}-12-31";
        var x = random.NextDouble();
        if (x < 0.08)
            values[ImportFields.TierHint] = random.NextDouble() < 0.7 ? "silver" : "gold";
        else if (x < 0.09)
        {
            values[ImportFields.TierHint] = "black";
            values[ImportFields.PaidTierExpiresAt] = $"{random.Next(2030, 2033)}-06-30";
        }
        if (random.NextDouble() < 0.1)
            values[ImportFields.GrowthValue] = random.Next(0, 8000).ToString(CultureInfo.InvariantCulture);
        return points;
    }

    /// <summary>A line of no one, valid but for one field that gives <paramref name="reason"/>.</summary>
    LegacyLine Bad(string reason)
    {
        var values = Blank(null);
        values[ImportFields.SourceRowKey] = NextKey();
        values[ImportFields.Phone] = NewMobile(); // plainly written: the line is about another field
        values[ImportFields.Channel] = "pos";
        values[ImportFields.ExternalId] = ExternalId("pos");
        values[ImportFields.Name] = RandomName();
        values[ImportFields.PointsBalance] = random.Next(0, 5000).ToString(CultureInfo.InvariantCulture);
        values[ImportFields.RegisteredAt] = "2018-05-06 10:11:12";
        switch (reason)
        {
            case "missing_identifier":
                values[ImportFields.Phone] = values[ImportFields.Channel] = values[ImportFields.ExternalId] = "";
                break;
            case "invalid_phone":
                values[ImportFields.Phone] = Pick("12345", "138-ABCD-5678", "+86 123", "99999999999", "123456789012345", "电话未知");
                break;
            case "invalid_points":
                var choice = random.Next(5);
                if (choice == 4)
                    values[ImportFields.PointsExpireAt] = "2019-12-31";
                else
                    values[ImportFields.PointsBalance] = choice switch { 0 => "-120", 1 => "12.5", 2 => "1,000", _ => "999999999999" };
                break;
            case "invalid_birthday":
                values[ImportFields.Birthday] = Pick("1990-13-45", "1850-01-01", "2099-01-01", "May 5", "1990-02-30");
                break;
            case "invalid_registered_at":
                values[ImportFields.RegisteredAt] = Pick("2099-01-01 10:00:00", "1975-06-01 09:00:00", "yesterday", "2018-02-30 10:00:00");
                break;
            case "invalid_field":
                switch (random.Next(6))
                {
                    case 0: values[ImportFields.Name] = string.Concat(Enumerable.Repeat("名", 70)); break;
                    case 1: values[ImportFields.TierHint] = "diamond"; break;
                    case 2: values[ImportFields.Gender] = "unknown-x"; break;
                    case 3: values[ImportFields.Channel] = "myspace"; break;
                    case 4: values[ImportFields.ExternalId] = "C" + new string('9', 130); break;
                    default: values[ImportFields.GrowthValue] = "-5"; break;
                }
                break;
            default:
                throw new ArgumentException($"Unknown reason {reason}.", nameof(reason));
        }
        return new LegacyLine(values.Values) { ExpectedReason = reason };
    }

    string Pick(params string[] options) => options[random.Next(options.Length)];

    string NewMobile()
    {
        while (true)
        {
            var mobile = MobilePrefixes[random.Next(MobilePrefixes.Length)] + random.Next(0, 100_000_000).ToString("D8", CultureInfo.InvariantCulture);
            if (phonesUsed.Add(mobile))
                return mobile;
        }
    }

    (string Subscriber, string AreaCode) NewLandline()
    {
        while (true)
        {
            var area = AreaCodes[random.Next(AreaCodes.Length)];
            var subscriber = random.Next(2, 9).ToString(CultureInfo.InvariantCulture) + random.Next(0, 10_000_000).ToString("D7", CultureInfo.InvariantCulture);
            if (phonesUsed.Add(area + subscriber))
                return (subscriber, area);
        }
    }

    string WriteMobile(string m)
    {
        var x = random.NextDouble();
        return x switch
        {
            < 0.40 => m,
            < 0.50 => $"+86 {m[..3]} {m[3..7]} {m[7..]}",
            < 0.58 => $"0086-{m[..3]}-{m[3..7]}-{m[7..]}",
            < 0.66 => $"{m[..3]}-{m[3..7]}-{m[7..]}",
            < 0.73 => $"{m[..3]} {m[3..7]} {m[7..]}",
            < 0.80 => FullWidth(m),
            < 0.87 => "86" + m,
            < 0.97 => "+86" + m,
            // Trunk-0 mobiles, common in department-store and franchise CRMs.
            < 0.985 => "0" + m,
            < 0.995 => $"+86 (0){m[..3]} {m[3..7]} {m[7..]}",
            _ => $"0086 (0){m[..3]}-{m[3..7]}-{m[7..]}",
        };
    }

    string WriteLandline(string area, string subscriber) => random.Next(5) switch
    {
        0 => $"0{area}-{subscriber}",
        1 => $"(0{area}) {subscriber[..4]} {subscriber[4..]}",
        2 => $"+86 {area} {subscriber}",
        3 => $"0086-{area}-{subscriber}",
        _ => $"0{area}{subscriber}",
    };

    static string FullWidth(string digits) => new(digits.Select(c => (char)(c - '0' + '０')).ToArray());

    /// <summary>A written landline: area code and subscriber number, with trunk 0 or +86 / 0086 (mobiles start 1 after those).</summary>
    public static bool IsLandlineForm(string written)
    {
        var digits = new string(written.Where(char.IsAsciiDigit).ToArray());
        if (digits.StartsWith("0086", StringComparison.Ordinal))
            digits = digits[4..];
        else if (written.TrimStart().StartsWith('+') && digits.StartsWith("86", StringComparison.Ordinal))
            digits = digits[2..];
        else if (digits.StartsWith('0'))
            digits = digits[1..];
        else
            return false;
        return digits.Length is 10 or 11 && digits[0] != '1' || digits.StartsWith("10", StringComparison.Ordinal) && digits.Length == 10;
    }

    /// <summary>A mobile written with a trunk 0 (<c>0138…</c>, <c>+86 (0)138…</c>, <c>0086 (0)138…</c>).</summary>
    public static bool IsTrunkMobileForm(string written) =>
        written.StartsWith("01", StringComparison.Ordinal) && written.Length == 12 || written.Contains("(0)1", StringComparison.Ordinal);

    string ExternalId(string channel)
    {
        var n = ++counter;
        return channel switch
        {
            "pos" => "C" + (4_000_000_000L + n * 7).ToString(CultureInfo.InvariantCulture),
            "wechat_mini_program" => "oMP" + Token(20) + n.ToString("x", CultureInfo.InvariantCulture),
            "wechat_official_account" => "oOA" + Token(20) + n.ToString("x", CultureInfo.InvariantCulture),
            "tmall" => "tb" + (2_000_000_000L + n * 13).ToString(CultureInfo.InvariantCulture),
            "jd" => "jd_" + Token(8) + n.ToString("x", CultureInfo.InvariantCulture),
            "douyin" => "dy" + (7_000_000_000_000L + n * 3).ToString(CultureInfo.InvariantCulture),
            "app" => "u" + (10_000_000L + n).ToString(CultureInfo.InvariantCulture),
            _ => "VIP" + (80_000_000L + n).ToString(CultureInfo.InvariantCulture),
        };
    }

    string UnionId() => "oU" + Token(22) + (++counter).ToString("x", CultureInfo.InvariantCulture);

    string Token(int length)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        var chars = new char[length];
        for (var i = 0; i < length; i++)
            chars[i] = alphabet[random.Next(alphabet.Length)];
        return new string(chars);
    }

    string RandomName()
    {
        var builder = new StringBuilder(Surnames[random.Next(Surnames.Length)]);
        builder.Append(GivenParts[random.Next(GivenParts.Length)]);
        if (random.NextDouble() < 0.6)
            builder.Append(GivenParts[random.Next(GivenParts.Length)]);
        return builder.ToString();
    }

    /// <summary>The name as free-text CRM fields hold it: an English name after a comma, nickname quotes, a line break.</summary>
    string Tricky(string name) => random.Next(4) switch
    {
        0 => name + ", Jack",
        1 => $"{name[..1]}\"{name[1..]}\"",
        2 => name[..1] + "\n" + name[1..],
        _ => name + " \r\n(VIP)",
    };
}
