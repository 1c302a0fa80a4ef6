using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Identity.Service.Phones;
using Identity.Service.Storage;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Security;

/// <summary>
/// Pseudonymous member ids for partners: HMAC-SHA256 over (partner client id, member id) under a key derived from the
/// service's secret. Stable for one partner, unrelated between partners, so two partners cannot join their data on it.
/// Issued ids are remembered so a partner can name the member again.
/// </summary>
public sealed class PartnerPseudonyms(PhoneKeys keys, IdentityStore store)
{
    readonly byte[] key = HKDF.DeriveKey(HashAlgorithmName.SHA256, keys.IndexKey, 32, info: "identity.partner-pseudonym.v1"u8.ToArray());
    readonly ConcurrentDictionary<string, byte> issued = new(StringComparer.Ordinal);

    public string For(string clientId, string memberId)
    {
        var mac = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{clientId}\n{memberId}"));
        return "pm_" + Convert.ToBase64String(mac, 0, 18).Replace('+', '-').Replace('/', '_');
    }

    /// <summary>The pseudonym for this partner, remembered for later look-ups (one write the first time only).</summary>
    public async Task<string> IssueAsync(string clientId, string memberId, CancellationToken ct)
    {
        var pseudonym = For(clientId, memberId);
        if (issued.ContainsKey(clientId + "\n" + pseudonym))
            return pseudonym;
        await store.WriteAsync(async (db, token) =>
        {
            if (!await db.PartnerLinks.AnyAsync(l => l.ClientId == clientId && l.PartnerMemberId == pseudonym, token))
                db.PartnerLinks.Add(new PartnerLinkRecord { ClientId = clientId, PartnerMemberId = pseudonym, MemberId = memberId });
            return 0;
        }, ct);
        if (issued.Count < 100_000)
            issued.TryAdd(clientId + "\n" + pseudonym, 0);
        return pseudonym;
    }

    /// <summary>The member behind a pseudonym this partner was given; null for any other string (including other partners' ids).</summary>
    public Task<string?> ResolveAsync(string clientId, string pseudonym, CancellationToken ct) =>
        store.ReadAsync((db, token) => db.PartnerLinks.Where(l => l.ClientId == clientId && l.PartnerMemberId == pseudonym)
            .Select(l => l.MemberId).FirstOrDefaultAsync(token), ct);
}
