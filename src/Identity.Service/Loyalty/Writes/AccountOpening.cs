using Identity.Service.Members;
using Identity.Service.Phones;
using Identity.Service.Storage;

namespace Identity.Service.Loyalty.Writes;

/// <summary>
/// Opens the account a loyalty write works on, inside its transaction: the member the lookup names (within the
/// caller's scope), its account created when missing, and its due points expired first so the balance is exact.
/// </summary>
public sealed class AccountOpening(ProgramCatalog catalog, PhoneProtector protector, TimeProvider clock)
{
    public async Task<OpenAccount> OpenAsync(IdentityDbContext db, MemberLookup lookup, CancellationToken ct, ResolvedMember? resolved = null)
    {
        var now = clock.GetUtcNow();
        var program = await catalog.ForWriteAsync(db, ct);
        var member = resolved is null ? null : await MemberQueries.LoadIfStillNamedAsync(db, resolved, lookup, protector, ct);
        if (member is null)
            (member, _) = await MemberQueries.ResolveAsync(db, protector, lookup, ct);
        var account = await LoyaltyAccounts.EnsureAsync(db, program, member, now, ct);
        await PointsLedger.ExpireDueAsync(db, account, now, ct);
        return new OpenAccount(program, member, account, now);
    }
}
