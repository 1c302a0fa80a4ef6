using Identity.Service.Errors;
using Identity.Service.Storage;
using Identity.V1;
using Microsoft.EntityFrameworkCore;

namespace Identity.Service.Import;

/// <summary>Opens imports (new or resumed) and reports on them.</summary>
public sealed class ImportDirectory(IdentityStore store, ImportStreams streams, TimeProvider clock)
{
    public const string ImportIdReused = "IMPORT_ID_REUSED";
    public const string ImportNotFound = "IMPORT_NOT_FOUND";

    /// <summary>Starts the import, or resumes it when its id was opened before with the same source and options.</summary>
    public async Task OpenAsync(ImportSession session, CancellationToken cancellationToken)
    {
        if (session.DryRun)
        {
            var existing = await store.ReadAsync((db, ct) => db.Imports.AnyAsync(i => i.Id == session.ImportId, ct), cancellationToken);
            if (existing)
                IdentityException.ThrowAlreadyExists(ImportIdReused,
                    $"Import {session.ImportId} exists as a real import; a dry run needs an import id of its own.");
            return;
        }
        await store.WriteAsync(async (db, ct) =>
        {
            var record = await db.Imports.FirstOrDefaultAsync(i => i.Id == session.ImportId, ct);
            if (record is null)
            {
                var now = clock.GetUtcNow();
                db.Imports.Add(new ImportRecord
                {
                    Id = session.ImportId, Source = session.Source, PointsExpiry = (int)session.Policy, StartedAt = now, UpdatedAt = now, RejectedByReason = "{}",
                });
                return true;
            }
            if (record.Source != session.Source || record.PointsExpiry != (int)session.Policy)
                IdentityException.ThrowAlreadyExists(ImportIdReused,
                    $"Import {session.ImportId} was opened with another source or options; resume it with the same header or use a new import id.");
            return false;
        }, cancellationToken);
    }

    public async Task<GetImportResponse> GetAsync(string importId, CancellationToken cancellationToken)
    {
        var record = await store.ReadAsync((db, ct) => db.Imports.FirstOrDefaultAsync(i => i.Id == importId, ct), cancellationToken);
        if (record is null)
            IdentityException.ThrowNotFound(ImportNotFound, $"Import {importId} does not exist (a dry run keeps no state).");
        return new GetImportResponse
        {
            ImportId = record.Id,
            Source = record.Source,
            Options = new ImportOptions { PointsExpiry = (PointsExpiryPolicy)record.PointsExpiry },
            State = streams.IsOpen(record.Id) ? V1.ImportState.Running : V1.ImportState.Idle,
            Totals = ImportTotalsJson.ToTotals(record),
            StartedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(record.StartedAt),
            UpdatedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(record.UpdatedAt),
        };
    }
}
