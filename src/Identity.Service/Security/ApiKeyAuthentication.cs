using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Identity.Service.Security;

/// <summary>
/// Turns the <c>authorization: Bearer &lt;key&gt;</c> metadata into a principal: client id, name, role, stores and
/// channel as claims, and the <see cref="Caller"/> itself for the handlers. Keys are checked against the registry's
/// in-memory copy of the active clients, so a refused key costs no store query.
/// </summary>
public sealed class ApiKeyAuthentication(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ClientRegistry registry)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string ClientIdClaim = "identity.client_id";
    public const string StoreClaim = "identity.store";
    public const string ChannelClaim = "identity.channel";

    const string MissingKey = "Send the client key as `authorization: Bearer <key>` metadata.";
    const string UnknownKey = "The key is unknown or revoked.";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        string? header = Request.Headers.Authorization;
        if (header is null || header.Length > 256 || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
            return Fail(MissingKey);
        Caller? caller;
        try
        {
            caller = await registry.AuthenticateAsync(header["Bearer ".Length..].Trim(), Context.RequestAborted);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // The store could not be read and no copy of the clients is at hand: a fault worth a retry, not the caller's.
            Context.Items[StoreFaultKey] = true;
            return Fail("The client keys cannot be checked right now; retry shortly.");
        }
        if (caller is null)
            return Fail(UnknownKey);

        Context.Features.Set(caller);
        var claims = new List<Claim>
        {
            new(ClientIdClaim, caller.Id), new(ClaimTypes.Name, caller.Name), new(ClaimTypes.Role, caller.Role.ToString()),
            new(ChannelClaim, caller.Channel.ToString()),
        };
        claims.AddRange(caller.Stores.Select(store => new Claim(StoreClaim, store)));
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName)), SchemeName));
    }

    AuthenticateResult Fail(string message)
    {
        Context.Items[FailureKey] = message;
        return AuthenticateResult.Fail(message);
    }

    static readonly object FailureKey = new();
    static readonly object StoreFaultKey = new();

    /// <summary>True when the key could not be checked because the store failed (the answer is UNAVAILABLE).</summary>
    public static bool FailedOnStore(HttpContext context) => context.Items.ContainsKey(StoreFaultKey);

    /// <summary>Why the call was not authenticated, in the words the caller needs.</summary>
    public static string ChallengeMessage(HttpContext context) => context.Items[FailureKey] as string ?? MissingKey;
}
