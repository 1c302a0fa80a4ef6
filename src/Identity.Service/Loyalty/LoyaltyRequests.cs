using Identity.Service.Errors;
using Identity.Service.Members;
using Identity.Service.Storage;
using Identity.V1;

namespace Identity.Service.Loyalty;

/// <summary>Reads loyalty requests into commands, reporting every bad field at once (INVALID_ARGUMENT).</summary>
public static class LoyaltyRequests
{
    public const int KeyLength = 64;
    public const long MaxAmountFen = 10_000_000_000; // 100 million yuan: far above any real order, far below overflow
    public const long MaxPoints = 1_000_000_000;
    public const int MaxProgramJsonLength = 48 * 1024;
    public const int DefaultPageSize = 50;
    public const int MaxPageSize = 500;

    /// <summary>Instants a client may send ahead of the server's clock (clock skew between tills and server).</summary>
    public static readonly TimeSpan FutureSkew = TimeSpan.FromMinutes(5);

    /// <summary>How far from now a benefit quote may be asked for: "what would apply at this instant" within a year either way.</summary>
    public static readonly TimeSpan QuoteHorizon = TimeSpan.FromDays(365);

    /// <summary>
    /// How far from now maintenance may be run "as of": far enough for an operator to rehearse years of expiry and
    /// assessment, near enough that no date arithmetic can leave the calendar.
    /// </summary>
    public static readonly TimeSpan MaintenanceHorizon = TimeSpan.FromDays(10 * 366);

    public static QuoteContext ReadContext(FieldViolations v, string field, BenefitContext? context, DateTimeOffset now)
    {
        if (context is null)
        {
            v.Add($"{field}.channel", "is required");
            return default;
        }
        v.KnownEnum($"{field}.channel", context.Channel, required: true);
        var store = v.Optional($"{field}.store_id", context.StoreId, MemberLimits.StoreIdLength);
        var at = v.Within($"{field}.at", v.Instant($"{field}.at", context.At), now - QuoteHorizon, now + QuoteHorizon,
            "must be within a year of now") ?? now;
        return new QuoteContext(context.Channel, store, at);
    }

    public static (MemberLookup Member, QuoteContext Context) Read(GetBenefitsRequest request, DateTimeOffset now)
    {
        var v = new FieldViolations();
        var member = MemberRequests.ReadMember(v, "member", request.Member);
        var context = ReadContext(v, "context", request.Context, now);
        v.ThrowIfAny();
        return (member!, context);
    }

    public static OrderCommand Read(RecordOrderRequest request, DateTimeOffset now, TimeSpan lateOrderWindow)
    {
        var v = new FieldViolations();
        var member = MemberRequests.ReadMember(v, "member", request.Member);
        v.KnownEnum("channel", request.Channel, required: true);
        var orderId = v.Required("order_id", request.OrderId, KeyLength);
        var store = v.Optional("store_id", request.StoreId, MemberLimits.StoreIdLength);
        var guide = v.Optional("guide_id", request.GuideId, MemberLimits.GuideIdLength);
        Positive(v, "amount_fen", request.AmountFen, MaxAmountFen);
        var paidAt = PaidAt(v, "paid_at", request.PaidAt, now, lateOrderWindow);
        v.ThrowIfAny();
        return new OrderCommand(member!, request.Channel, orderId!, store, guide, request.AmountFen, paidAt ?? now);
    }

    public static RefundCommand Read(RecordRefundRequest request, DateTimeOffset now, TimeSpan lateOrderWindow)
    {
        var v = new FieldViolations();
        v.KnownEnum("channel", request.Channel, required: true);
        var orderId = v.Required("order_id", request.OrderId, KeyLength);
        var refundId = v.Required("refund_id", request.RefundId, KeyLength);
        Positive(v, "amount_fen", request.AmountFen, MaxAmountFen);
        var at = PaidAt(v, "refunded_at", request.RefundedAt, now, lateOrderWindow) ?? now;
        v.ThrowIfAny();
        return new RefundCommand(request.Channel, orderId!, refundId!, request.AmountFen, at);
    }

    public static RedeemCommand Read(RedeemPointsRequest request)
    {
        var v = new FieldViolations();
        var member = MemberRequests.ReadMember(v, "member", request.Member);
        var requestId = v.Required("request_id", request.RequestId, KeyLength);
        Positive(v, "points", request.Points, MaxPoints);
        var reason = v.Optional("reason", request.Reason, MemberLimits.ReasonLength);
        v.KnownEnum("channel", request.Channel, required: false);
        var store = v.Optional("store_id", request.StoreId, MemberLimits.StoreIdLength);
        v.ThrowIfAny();
        return new RedeemCommand(member!, requestId!, request.Points, reason, request.Channel, store);
    }

    public static AdjustCommand Read(AdjustPointsRequest request)
    {
        var v = new FieldViolations();
        var member = MemberRequests.ReadMember(v, "member", request.Member);
        var requestId = v.Required("request_id", request.RequestId, KeyLength);
        // Compared without Math.Abs, which overflows on long.MinValue.
        if (request.Points == 0 || request.Points < -MaxPoints || request.Points > MaxPoints)
            v.Add("points", $"must be non-zero and between {-MaxPoints} and {MaxPoints}");
        var reason = v.Required("reason", request.Reason, MemberLimits.ReasonLength);
        var actor = v.Required("operator", request.Operator, MemberLimits.OperatorLength);
        v.ThrowIfAny();
        return new AdjustCommand(member!, requestId!, request.Points, reason!, actor!);
    }

    /// <summary>
    /// A check-in is for today: <c>at</c> must fall on the brand-local day of now (or of now ± the clock skew, so a till a
    /// few minutes off at midnight still counts) and not be more than the skew ahead of now.
    /// </summary>
    public static CheckInCommand Read(CheckInRequest request, DateTimeOffset now, TimeZoneInfo zone)
    {
        var v = new FieldViolations();
        var member = MemberRequests.ReadMember(v, "member", request.Member);
        v.KnownEnum("channel", request.Channel, required: true);
        var at = v.Instant("at", request.At);
        if (at is { } given)
        {
            var day = BrandTime.LocalDate(zone, given);
            if (given > now + FutureSkew)
                v.Add("at", "must not be in the future");
            else if (day != BrandTime.LocalDate(zone, now) && day != BrandTime.LocalDate(zone, now - FutureSkew)
                && day != BrandTime.LocalDate(zone, now + FutureSkew))
                v.Add("at", "must be today in the program's time zone: check-in is not back-filled");
        }
        v.ThrowIfAny();
        return new CheckInCommand(member!, request.Channel, at ?? now);
    }

    public static PurchaseCommand Read(PurchaseMembershipRequest request, DateTimeOffset now, TimeSpan lateOrderWindow)
    {
        var v = new FieldViolations();
        var member = MemberRequests.ReadMember(v, "member", request.Member);
        var requestId = v.Required("request_id", request.RequestId, KeyLength);
        var tier = v.Required("tier_code", request.TierCode, 32);
        Positive(v, "paid_fen", request.PaidFen, MaxAmountFen);
        v.KnownEnum("channel", request.Channel, required: false);
        var paidAt = PaidAt(v, "paid_at", request.PaidAt, now, lateOrderWindow) ?? now;
        v.ThrowIfAny();
        return new PurchaseCommand(member!, requestId!, tier!, request.PaidFen, request.Channel, paidAt);
    }

    public static MemberLookup Read(GetPointsAccountRequest request)
    {
        var v = new FieldViolations();
        var member = MemberRequests.ReadMember(v, "member", request.Member);
        v.ThrowIfAny();
        return member!;
    }

    public static (MemberLookup Member, int PageSize, long? Before) Read(ListPointsEntriesRequest request)
    {
        var v = new FieldViolations();
        var member = MemberRequests.ReadMember(v, "member", request.Member);
        var (size, before) = PageToken.Read(v, request.PageSize, request.PageToken, DefaultPageSize, MaxPageSize);
        v.ThrowIfAny();
        return (member!, size, before);
    }

    public static (string Json, bool ValidateOnly, int ExpectedVersion) Read(PublishProgramRequest request)
    {
        var v = new FieldViolations();
        if (string.IsNullOrWhiteSpace(request.ProgramJson))
            v.Add("program_json", "is required");
        else if (request.ProgramJson.Length > MaxProgramJsonLength)
            v.Add("program_json", $"must be at most {MaxProgramJsonLength} characters");
        if (request.ExpectedVersion < 0)
            v.Add("expected_version", "must not be negative");
        v.ThrowIfAny();
        return (request.ProgramJson, request.ValidateOnly, request.ExpectedVersion);
    }

    /// <summary>
    /// When an order, refund or purchase happened: absent is null (the caller defaults it to now); present must lie in
    /// [now − the late-order window, now + the clock skew]. Earlier than the window gives the field violation reason
    /// LATE_ORDER (RecordOrders answers the order with it), so a till can tell an order too old to record from a malformed one.
    /// </summary>
    public static DateTimeOffset? PaidAt(FieldViolations v, string field, Google.Protobuf.WellKnownTypes.Timestamp? value, DateTimeOffset now, TimeSpan lateOrderWindow) =>
        v.Within(field, v.Instant(field, value), now - lateOrderWindow, now + FutureSkew,
            $"must be within the last {lateOrderWindow.TotalDays:0} days and not more than {FutureSkew.TotalMinutes:0} minutes ahead of the server's clock",
            ErrorReasons.LateOrder);

    public static DateTimeOffset? Read(RunMaintenanceRequest request, DateTimeOffset now)
    {
        var v = new FieldViolations();
        var asOf = v.Within("as_of", v.Instant("as_of", request.AsOf), now - MaintenanceHorizon, now + MaintenanceHorizon, "must be within ten years of now");
        v.ThrowIfAny();
        return asOf;
    }

    static void Positive(FieldViolations v, string field, long value, long max)
    {
        if (value <= 0 || value > max)
            v.Add(field, $"must be between 1 and {max}");
    }

    /// <summary>An optional request id (CheckIn, SetConsent): absent, or bounded like every key; else INVALID_ARGUMENT naming it.</summary>
    public static string? OptionalRequestId(string value)
    {
        var v = new FieldViolations();
        var id = v.Optional("request_id", value, KeyLength);
        v.ThrowIfAny();
        return id;
    }
}
