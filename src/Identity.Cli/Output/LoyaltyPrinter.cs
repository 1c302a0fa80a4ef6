using System.Globalization;
using System.Text;
using Identity.V1;

namespace Identity.Cli.Output;

/// <summary>Human-readable output of the LoyaltyService calls, in the same label/value style as the member calls.</summary>
internal sealed partial class Printer
{
    public void Benefits(GetBenefitsResponse response)
    {
        Line("member", Or(response.MemberId));
        Quote(response.Quote);
    }

    /// <summary>A benefit quote: tier, growth, then one line per benefit and the effective values after stacking.</summary>
    public void Quote(BenefitQuote? quote)
    {
        if (quote is null)
        {
            output.WriteLine("(no benefit quote in the response)");
            return;
        }
        Line("tier", Tier(quote.Tier), PaidNote(quote.Tier, quote.PaidTierExpiresAt));
        var growth = new List<string>();
        if (quote.GrowthTier is { } growthTier && growthTier.Code != quote.Tier?.Code)
        {
            growth.Add($"growth tier {Tier(growthTier)}");
        }
        growth.Add(quote.NextTier is { } next ? $"{Number(quote.GrowthToNextTier)} to {Tier(next)}" : "top of the growth ladder");
        Line("growth", Number(quote.Growth), string.Join(", ", growth));
        Line("quoted", Time(quote.QuotedAt), $"local date {Or(quote.LocalDate)}   program version {Number(quote.ProgramVersion)}");
        if (quote.Benefits.Count == 0)
        {
            Line("benefits", "(none)");
        }
        else
        {
            output.WriteLine("benefits");
            Table(quote.Benefits.Select(b => new[]
            {
                BenefitKindText(b.Kind),
                Or(b.Name),
                BenefitValue(b),
                Or(b.Reason) + (b.Effective ? "" : "   (not effective)"),
            }).ToList());
        }
        Line("effective", $"{Discount(quote.EffectiveDiscountBp)}, {Multiplier(quote.EffectivePointsMultiplierMilli)} points");
    }

    public void OrderRecorded(RecordOrderResponse response)
    {
        Line("member", Or(response.MemberId), Replayed(response.Replayed));
        Line("earned", $"{Points(response.PointsEarned)} at {Multiplier(response.PointsMultiplierMilli)}",
            response.PointsExpireAt is null ? null : $"expire {Time(response.PointsExpireAt)}");
        Line("growth", Signed(response.GrowthEarned));
        Line("balance", Number(response.PointsBalance));
        Line("tier", Tier(response.Tier), response.Upgraded ? "upgraded" : null);
    }

    /// <summary>Each refused order with its place in the file (from 1; blank lines are not orders), then the counts.</summary>
    public void OrdersReplayed(RecordOrdersResponse response)
    {
        foreach (var result in response.Results.Where(r => r.Error is not null))
        {
            var error = result.Error;
            Line($"order {result.Index + 1}", $"{error.Code}{(error.Reason.Length > 0 && error.Reason != error.Code ? " " + error.Reason : "")}",
                (error.Field.Length > 0 ? error.Field + ": " : "") + error.Message);
        }
        Line("orders", Number(response.Results.Count), Tally(response));
    }

    /// <summary>"N recorded, N replayed, N refused" over the orders answered.</summary>
    public static string Tally(RecordOrdersResponse response) =>
        $"{response.Results.Count(r => r.Recorded is { Replayed: false })} recorded, {response.Results.Count(r => r.Recorded is { Replayed: true })} replayed, " +
        $"{response.Results.Count(r => r.Error is not null)} refused";

    public void RefundRecorded(RecordRefundResponse response)
    {
        Line("member", Or(response.MemberId), Replayed(response.Replayed));
        Line("reversed", $"{Points(response.PointsReversed)}, {Number(response.GrowthReversed)} growth");
        Line("balance", Number(response.PointsBalance));
        Line("tier", Tier(response.Tier));
    }

    public void Redeemed(RedeemPointsResponse response)
    {
        Line("member", Or(response.MemberId), Replayed(response.Replayed));
        Line("redeemed", Points(response.PointsRedeemed));
        Line("balance", Number(response.PointsBalance));
    }

    public void Adjusted(AdjustPointsResponse response)
    {
        Line("member", Or(response.MemberId), Replayed(response.Replayed));
        Line("adjusted", $"{Signed(response.Points)} points");
        Line("balance", Number(response.PointsBalance));
    }

    public void CheckedIn(CheckInResponse response)
    {
        Line("member", Or(response.MemberId));
        Line("check-in", Or(response.LocalDate), response.AlreadyCheckedIn ? "(already checked in)" : $"{Signed(response.PointsGranted)} points");
        Line("balance", Number(response.PointsBalance));
    }

    public void MembershipBought(PurchaseMembershipResponse response)
    {
        Line("member", Or(response.MemberId), Replayed(response.Replayed));
        Line("tier", Tier(response.Tier), response.Renewed ? "(renewed)" : "(new)");
        Line("until", Time(response.ExpiresAt));
    }

    public void PointsAccount(GetPointsAccountResponse response)
    {
        Line("member", Or(response.MemberId));
        Line("balance", Number(response.Balance));
        Line("expiring", $"{Number(response.ExpiringWithin30Days)} within 30 days",
            response.NextExpiry is null ? null : $"next expiry {Time(response.NextExpiry)}");
        if (response.Lots.Count == 0)
        {
            Line("lots", "(none)");
            return;
        }
        output.WriteLine("lots");
        Table(
        [
            ["remaining/points", "expires", "source"],
            .. response.Lots.Select(l => new[] { $"{Number(l.Remaining)}/{Number(l.Points)}", Time(l.ExpiresAt), Or(l.Source) }),
        ]);
    }

    public void PointsEntries(ListPointsEntriesResponse response)
    {
        Line("member", Or(response.MemberId));
        if (response.Entries.Count == 0)
        {
            output.WriteLine("no entries");
        }
        else
        {
            var pointsWidth = response.Entries.Max(e => Signed(e.Points).Length);
            var balanceWidth = response.Entries.Max(e => Number(e.BalanceAfter).Length);
            Table(response.Entries.Select(e => new[]
            {
                Time(e.CreatedAt),
                ProtoNames.PointsEntryKind.Format(e.Kind),
                Signed(e.Points).PadLeft(pointsWidth),
                "balance " + Number(e.BalanceAfter).PadLeft(balanceWidth),
                Or(e.Reference),
                e.Reason,
            }).ToList(), indent: "");
        }
        if (response.NextPageToken.Length > 0)
        {
            output.WriteLine($"next page: --page-token {response.NextPageToken}");
        }
    }

    public void Program(GetProgramResponse response)
    {
        Line("version", Number(response.Version));
        Line("published", Time(response.PublishedAt));
        output.WriteLine();
        output.WriteLine(response.ProgramJson.TrimEnd());
    }

    public void ProgramPublished(PublishProgramResponse response, bool validateOnly) =>
        Line("version", Number(response.Version), (validateOnly, response.Unchanged) switch
        {
            (true, _) => "(valid; nothing published)",
            (false, true) => "(unchanged)",
            (false, false) => "(published)",
        });

    public void Maintenance(RunMaintenanceResponse response)
    {
        Line("expired", $"{Count(response.LotsExpired, "lot")}, {Points(response.PointsExpired)}");
        Line("assessed", Count(response.MembersAssessed, "member"), $"{Number(response.MembersDowngraded)} downgraded");
        Line("ended", Count(response.PaidTiersEnded, "paid tier"));
    }

    public void LedgerVerified(VerifyLedgerResponse response)
    {
        var checkedText = $"{Count(response.AccountsChecked, "account")} checked";
        if (response.Problems.Count == 0)
        {
            output.WriteLine($"{checkedText}, no discrepancy");
            return;
        }
        output.WriteLine($"{checkedText}, {Count(response.Problems.Count, "problem")}:");
        foreach (var problem in response.Problems)
        {
            output.WriteLine($"  {OneLine(problem)}");
        }
    }

    /// <summary>Rows of columns, each column padded to its widest cell (in terminal cells: CJK counts 2), the last one not.</summary>
    private void Table(IReadOnlyList<string[]> rows, string indent = "  ")
    {
        var cells = rows.Select(r => r.Select(OneLine).ToArray()).ToList();
        var columns = cells.Max(r => r.Length);
        var widths = Enumerable.Range(0, columns).Select(c => cells.Max(r => c < r.Length ? Width(r[c]) : 0)).ToArray();
        foreach (var row in cells)
        {
            var line = new StringBuilder(indent);
            for (var c = 0; c < row.Length; c++)
            {
                line.Append(row[c]);
                if (c < row.Length - 1)
                {
                    line.Append(' ', widths[c] - Width(row[c]) + 2);
                }
            }
            output.WriteLine(line.ToString().TrimEnd());
        }
    }

    private static string Tier(TierInfo? tier) => tier switch
    {
        null => None,
        { Name.Length: > 0, Code.Length: > 0 } => $"{tier.Name} ({tier.Code})",
        _ => Or(tier.Name.Length > 0 ? tier.Name : tier.Code),
    };

    private static string? PaidNote(TierInfo? tier, Google.Protobuf.WellKnownTypes.Timestamp? expiresAt) => (tier?.Paid ?? false, expiresAt) switch
    {
        (true, null) => "paid",
        (true, { } until) => $"paid until {Time(until)}",
        (false, { } until) => $"paid tier until {Time(until)}",
        _ => null,
    };

    private static string? Replayed(bool replayed) => replayed ? "(replayed)" : null;

    private static string BenefitKindText(BenefitKind kind) =>
        kind == BenefitKind.Unspecified ? "benefit" : ProtoNames.BenefitKind.Format(kind).Replace('_', ' ');

    private static string BenefitValue(AppliedBenefit benefit) => benefit.Kind switch
    {
        BenefitKind.Discount => Discount(benefit.DiscountBp),
        BenefitKind.PointsMultiplier => $"{Multiplier(benefit.PointsMultiplierMilli)} points",
        _ => Or(benefit.Value),
    };

    /// <summary>Basis points off: 500 is "5% off", 250 is "2.5% off".</summary>
    private static string Discount(int basisPoints) =>
        basisPoints == 0 ? "no discount" : (basisPoints / 100m).ToString("0.##", CultureInfo.InvariantCulture) + "% off";

    /// <summary>Thousandths: 1500 is "1.5x"; 0 (not set) is no bonus, "1x".</summary>
    private static string Multiplier(int milli) =>
        (milli == 0 ? 1m : milli / 1000m).ToString("0.###", CultureInfo.InvariantCulture) + "x";

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Signed(long value) => value.ToString("+0;-0;0", CultureInfo.InvariantCulture);

    private static string Points(long value) => Count(value, "point");

    private static string Count(long value, string singular) => $"{Number(value)} {singular}{(value == 1 ? "" : "s")}";

    /// <summary>Server text on one line: each run of line breaks or other control characters becomes one space.</summary>
    internal static string OneLine(string text)
    {
        if (!text.Any(char.IsControl))
        {
            return text;
        }
        var line = new StringBuilder(text.Length);
        foreach (var c in text)
        {
            if (!char.IsControl(c))
            {
                line.Append(c);
            }
            else if (line.Length > 0 && line[^1] != ' ')
            {
                line.Append(' ');
            }
        }
        return line.ToString().Trim();
    }

    /// <summary>Terminal cells: East Asian wide and fullwidth characters take two.</summary>
    private static int Width(string text)
    {
        var width = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            var value = rune.Value;
            width += value is (>= 0x1100 and <= 0x115F) or (>= 0x2E80 and <= 0xA4CF) or (>= 0xAC00 and <= 0xD7A3)
                or (>= 0xF900 and <= 0xFAFF) or (>= 0xFE30 and <= 0xFE4F) or (>= 0xFF00 and <= 0xFF60) or (>= 0xFFE0 and <= 0xFFE6)
                or (>= 0x1F300 and <= 0x1FAFF) or (>= 0x20000 and <= 0x3FFFD)
                ? 2
                : 1;
        }
        return width;
    }
}
