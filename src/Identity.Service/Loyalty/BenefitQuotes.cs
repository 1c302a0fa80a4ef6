using Identity.Service.Members;
using Identity.Service.Storage;
using Identity.V1;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Loyalty;

/// <summary>Quotes a loaded member: reads its loyalty account, builds the snapshot, computes the quote with no further I/O.</summary>
public sealed class BenefitQuotes(ProgramCatalog catalog, MemberMapper mapper)
{
    public async Task<BenefitQuote> QuoteAsync(IdentityDbContext db, MemberRecord member, QuoteContext context, CancellationToken ct)
    {
        var account = await db.LoyaltyAccounts.AsNoTracking().FirstOrDefaultAsync(a => a.MemberId == member.Id, ct);
        var program = catalog.Program;
        return BenefitCalculator.Quote(program, LoyaltyAccounts.Snapshot(mapper.ToMessage(member), member, account, program), context);
    }
}
