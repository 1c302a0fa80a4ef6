using Grpc.Core;
using Identity.Service.Caching;
using Identity.Service.Errors;
using Identity.Service.Loyalty;
using Identity.Service.Members;
using Identity.Service.Phones;
using Identity.Service.Storage;
using Identity.V1;

namespace Identity.Service.Security;

/// <summary>
/// <c>identity.v1.PartnerService</c>: minimal disclosure. A member who has not consented to partner sharing answers
/// exactly like a non-member.
/// </summary>
public sealed class PartnerGrpcService(
    MemberSnapshots snapshots, PartnerSharing sharing, PhoneProtector protector, PartnerPseudonyms pseudonyms, ProgramCatalog programs,
    IdempotentWrites idempotent, Loyalty.Writes.OrderRecording orders, TimeProvider clock,
    Microsoft.Extensions.Options.IOptions<Hosting.IdentityOptions> options)
    : PartnerService.PartnerServiceBase
{
    public override async Task<CheckMembershipResponse> CheckMembership(CheckMembershipRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var member = await FindConsentingAsync(caller, request.KeyCase == CheckMembershipRequest.KeyOneofCase.Phone ? request.Phone : null,
            request.KeyCase == CheckMembershipRequest.KeyOneofCase.PartnerMemberId ? request.PartnerMemberId : null,
            request.KeyCase == CheckMembershipRequest.KeyOneofCase.None, context);
        if (member is null)
            return new CheckMembershipResponse();

        var tier = BenefitCalculator.Quote(programs.Program, member, new QuoteContext(Channel.Partner, null, clock.GetUtcNow())).Tier;
        return new CheckMembershipResponse
        {
            IsMember = true, TierName = tier.Name, Paid = tier.Paid, MaskedPhone = member.Member.MaskedPhone,
            PartnerMemberId = await pseudonyms.IssueAsync(caller.Id, member.Member.MemberId, context.CancellationToken),
        };
    }

    public override async Task<RecordPartnerOrderResponse> RecordPartnerOrder(RecordPartnerOrderRequest request, ServerCallContext context)
    {
        var now = clock.GetUtcNow();
        try
        {
            return await RecordPartnerOrderAsync(request, context, now, options.Value.LateOrderWindow, late: null);
        }
        catch (IdentityException late) when (LateRepeats.OnlyLate(late))
        {
            // Recorded while paid_at was inside the window: a repeat replays (LateRepeats); one never recorded is refused
            // for its date, before the member is looked up.
            if (!await idempotent.IsKeptAsync(Key(context.Caller(), request.OrderId.Trim(), request), context.CancellationToken))
                throw;
            return await RecordPartnerOrderAsync(request, context, now, LateRepeats.Unbounded(now), late);
        }
    }

    async Task<RecordPartnerOrderResponse> RecordPartnerOrderAsync(RecordPartnerOrderRequest request, ServerCallContext context, DateTimeOffset now,
        TimeSpan window, IdentityException? late)
    {
        var caller = context.Caller();
        var v = new FieldViolations();
        var orderId = v.Required("order_id", request.OrderId, LoyaltyRequests.KeyLength);
        v.InRange("amount_fen", request.AmountFen, 1, LoyaltyRequests.MaxAmountFen);
        var paidAt = LoyaltyRequests.PaidAt(v, "paid_at", request.PaidAt, now, window);
        if (request.PaidAt is null)
            v.Add("paid_at", "is required");
        var member = await FindConsentingAsync(caller, request.KeyCase == RecordPartnerOrderRequest.KeyOneofCase.Phone ? request.Phone : null,
            request.KeyCase == RecordPartnerOrderRequest.KeyOneofCase.PartnerMemberId ? request.PartnerMemberId : null,
            request.KeyCase == RecordPartnerOrderRequest.KeyOneofCase.None, context, v);
        if (member is null)
            IdentityException.ThrowNotFound(ErrorReasons.MemberNotFound, "No member who shares with partners has this key.");

        var key = Key(caller, orderId!, request);
        var memberId = member.Member.MemberId;
        var kept = late is not null
            ? await idempotent.ReplayAsync<RecordOrderResponse>(key, r => r.Also(x => x.Replayed = true), late, context.CancellationToken)
            : await idempotent.RunAsync(key,
                (db, change, ct) => orders.RecordPartnerAsync(db, change, caller.Id, memberId, orderId!, request.AmountFen, paidAt!.Value, ct),
                LoyaltyReplies.PartnerOrder, r => r.Also(x => x.Replayed = true), context.CancellationToken);
        return new RecordPartnerOrderResponse
        {
            PartnerMemberId = await pseudonyms.IssueAsync(caller.Id, memberId, context.CancellationToken),
            PointsEarned = kept.PointsEarned, Replayed = kept.Replayed,
        };
    }

    /// <summary>The partner's own key space: its client id and its order id. No other client can name or refund these orders.</summary>
    static IdempotencyKey Key(Caller caller, string orderId, RecordPartnerOrderRequest request) =>
        IdempotencyKey.Business("partner-order", $"{caller.Id}:{orderId}", request);

    /// <summary>
    /// The member, if it exists and currently consents to partner sharing; null otherwise, never saying which — not in
    /// the reply, and not in the time it takes: up to the decision, a member and a non-member cost the same work
    /// (<see cref="PartnerSharing"/>); only a consenting member's snapshot is then read through the cache.
    /// </summary>
    async Task<MemberSnapshot?> FindConsentingAsync(Caller caller, string? phone, string? pseudonym, bool missing, ServerCallContext context,
        FieldViolations? violations = null)
    {
        var v = violations ?? new FieldViolations();
        byte[]? phoneIndex = null;
        string? linkedId = null;
        if (missing)
            v.Add("key", "one of phone or partner_member_id is required");
        else if (phone is not null)
        {
            if (Phone.TryParse(phone, out var parsed, out var error))
                phoneIndex = protector.BlindIndex(parsed);
            else
                v.Add("phone", error);
        }
        else if (v.Required("partner_member_id", pseudonym, 64) is { } id)
            linkedId = await pseudonyms.ResolveAsync(caller.Id, id, context.CancellationToken) ?? UnknownPseudonym;
        v.ThrowIfAny();

        var (memberId, shares) = await sharing.FindAsync(phoneIndex, linkedId, context.CancellationToken);
        if (memberId is not null)
            context.UserState[AuditInterceptor.AuditMemberKey] = memberId;
        if (!shares)
            return null;
        try
        {
            var (snapshot, _) = await snapshots.ResolveAsync(new MemberLookup.ById(memberId!), context.CancellationToken);
            return snapshot;
        }
        catch (IdentityException e) when (e.Code == StatusCode.NotFound)
        {
            return null; // erased between the two reads
        }
    }

    /// <summary>Looked up like any id, so an unknown pseudonym costs what a known one does.</summary>
    const string UnknownPseudonym = "-";
}
