using System.Security.Cryptography;
using System.Text;
using Identity.Service.Errors;
using Identity.Service.Storage;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Loyalty;

/// <summary>A published program with its text and publication instant.</summary>
public sealed record PublishedProgram(LoyaltyProgram Program, string Json, DateTimeOffset PublishedAt);

/// <summary>
/// The program in force. Reads use the in-memory copy (no I/O on the quote path); writes check the stored version inside
/// their transaction, so a program published by another instance takes effect for writes at once and for reads within
/// the refresh interval.
/// </summary>
public sealed class ProgramCatalog(IDbContextFactory<IdentityDbContext> contexts, IdentityStore store, TimeProvider clock)
{
    PublishedProgram? current;

    public PublishedProgram Current => current ?? throw new InvalidOperationException("The program catalog is not initialised.");

    public LoyaltyProgram Program => Current.Program;

    /// <summary>Seeds the default program as version 1 into an empty store, then loads the latest version.</summary>
    public async Task InitializeAsync(CancellationToken ct)
    {
        await store.WriteAsync(async (db, token) =>
        {
            if (!await db.Programs.AnyAsync(token))
                db.Programs.Add(new ProgramRecord { Version = 1, Json = DefaultProgram.Json, Hash = Hash(DefaultProgram.Json), PublishedAt = clock.GetUtcNow() });
            return 0;
        }, ct);
        await RefreshAsync(ct);
    }

    public async Task RefreshAsync(CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        await LoadLatestAsync(db, ct);
    }

    /// <summary>The program in force, checked against the store inside a write transaction.</summary>
    public async Task<LoyaltyProgram> ForWriteAsync(IdentityDbContext db, CancellationToken ct)
    {
        var latest = await new RawSql(db, ct).ScalarAsync("SELECT MAX(\"Version\") FROM programs") ?? 0;
        if (current is null || current.Program.Version != latest)
            await LoadLatestAsync(db, ct);
        return Current.Program;
    }

    public Task<(int Version, bool Unchanged)> PublishAsync(string json, bool validateOnly, int expectedVersion, CancellationToken ct)
    {
        var parsed = ProgramParser.Parse(json);
        if (!parsed.IsValid)
            throw IdentityException.Invalid(parsed.Problems
                .Select(p => new Google.Rpc.BadRequest.Types.FieldViolation { Field = "program_json", Description = p.ToString() }).ToList());
        if (validateOnly)
            return Task.FromResult((Current.Program.Version, false));

        return store.WriteAsync(async (db, token) =>
        {
            var latest = await db.Programs.OrderByDescending(p => p.Version).FirstAsync(token);
            if (expectedVersion != 0 && expectedVersion != latest.Version)
                IdentityException.ThrowFailedPrecondition(ErrorReasons.ProgramVersionMismatch,
                    $"Version {latest.Version} is in force, not {expectedVersion}; fetch it, re-apply your change and publish again.");
            var hash = Hash(json);
            if (latest.Hash.AsSpan().SequenceEqual(hash))
                return (latest.Version, true);
            var record = new ProgramRecord { Version = latest.Version + 1, Json = json, Hash = hash, PublishedAt = clock.GetUtcNow() };
            db.Programs.Add(record);
            current = new PublishedProgram(parsed.Program! with { Version = record.Version }, json, record.PublishedAt);
            return (record.Version, false);
        }, ct);
    }

    async Task LoadLatestAsync(IdentityDbContext db, CancellationToken ct)
    {
        var record = await db.Programs.AsNoTracking().OrderByDescending(p => p.Version).FirstAsync(ct);
        var parsed = ProgramParser.Parse(record.Json);
        if (!parsed.IsValid)
            throw new InvalidOperationException($"Stored program version {record.Version} is invalid: {string.Join("; ", parsed.Problems)}");
        current = new PublishedProgram(parsed.Program! with { Version = record.Version }, record.Json, record.PublishedAt);
    }

    static byte[] Hash(string json) => SHA256.HashData(Encoding.UTF8.GetBytes(json));
}
