using System.Data.Common;
using Identity.Service.Caching;
using Identity.Service.Hosting;
using Identity.Service.Loyalty;
using Identity.Service.Members;
using Identity.Service.Phones;
using Identity.Service.Storage;
using Identity.V1;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace Identity.Service.Import;

/// <summary>
/// Imports one batch of rows in one store transaction, committed before the batch is answered (an answered row is
/// durable). The checks that need no store run before the write gate is taken; inside it, the batch reads what it
/// needs with one query per kind (earlier outcomes, row keys, phone owners, identity owners, members, accounts) and
/// writes with one multi-row statement per table (<see cref="BulkRows"/>), bypassing the change tracker. POS writes queue on the same gate between batches,
/// and the phones are read inside the transaction, so a member enrolled meanwhile is found, never duplicated.
/// </summary>
public sealed class ImportBatchWriter(
    IdentityStore store, CachedWrites writes, ProgramCatalog catalog, RowChecker checker, CacheKeys cacheKeys, TimeProvider clock,
    ILogger<ImportBatchWriter> logger)
{
    ProgramCatalog Catalog { get; } = catalog;
    CacheKeys CacheKeys { get; } = cacheKeys;

    /// <summary>The checks that need no store (and the phones' encryption), done before the batch queues for the write gate.</summary>
    public CheckedRow[] Prepare(ImportSession session, IReadOnlyList<ImportRow> rows)
    {
        var now = clock.GetUtcNow();
        var program = Catalog.Program;
        var checkedRows = new CheckedRow[rows.Count];
        for (var i = 0; i < rows.Count; i++)
            checkedRows[i] = checker.Check(rows[i], session.Policy, program, now);
        return checkedRows;
    }

    public async Task<ImportMembersResponse> ImportAsync(ImportSession session, CheckedRow[] checkedRows, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (session.DryRun)
        {
            return await store.ReadAsync(async (db, ct) =>
            {
                await db.Database.OpenConnectionAsync(ct);
                var run = new BatchRun(this, db, session, session.DryRunState!, now, ct);
                var outcomes = await run.ClassifyAsync(checkedRows);
                var response = new ImportMembersResponse();
                response.Outcomes.AddRange(outcomes);
                AddToTotals(session.DryRunTotals, outcomes, run.PointsMigrated);
                response.Totals = session.DryRunTotals.Clone();
                return response;
            }, cancellationToken);
        }

        return await writes.WriteAsync(async (db, change, ct) =>
        {
            var record = await db.Imports.FirstAsync(i => i.Id == session.ImportId, ct);
            var program = await Catalog.ForWriteAsync(db, ct);
            var (outcomes, points) = db.Database.IsNpgsql()
                ? await WriteRedoingAsync(db, session, checkedRows, program, change, now, ct)
                : await WriteOnceAsync(db, session, checkedRows, program, change, now, ct);

            var totals = ImportTotalsJson.ToTotals(record);
            AddToTotals(totals, outcomes, points);
            ImportTotalsJson.Store(record, totals, now);
            var response = new ImportMembersResponse { Totals = totals };
            response.Outcomes.AddRange(outcomes);
            return response;
        }, cancellationToken);
    }

    /// <summary>The most times a batch is classified and written again inside its transaction on PostgreSQL.</summary>
    const int MaxRedos = 16;

    async Task<(IReadOnlyList<ImportRowOutcome> Outcomes, long Points)> WriteOnceAsync(IdentityDbContext db, ImportSession session, CheckedRow[] checkedRows,
        LoyaltyProgram program, CacheChange change, DateTimeOffset now, CancellationToken ct)
    {
        var run = new BatchRun(this, db, session, new ImportOwners(), now, ct);
        var outcomes = await run.ClassifyAsync(checkedRows);
        await run.WriteAsync(program, change);
        return (outcomes, run.PointsMigrated);
    }

    /// <summary>
    /// On PostgreSQL other instances and POS callers write while a batch runs. A phone or identity the batch means to
    /// create that a concurrent write created first (a unique violation), or a deadlock with one, would otherwise fail the
    /// whole transaction, and a batch of a thousand rows run again from the start meets the next POS enrolment just as
    /// surely. Instead the batch rolls back to a savepoint taken before it read anything, and is classified and written
    /// again in the same transaction: it now reads (and locks) the member the other write made, and merges into it.
    /// </summary>
    async Task<(IReadOnlyList<ImportRowOutcome> Outcomes, long Points)> WriteRedoingAsync(IdentityDbContext db, ImportSession session, CheckedRow[] checkedRows,
        LoyaltyProgram program, CacheChange change, DateTimeOffset now, CancellationToken ct)
    {
        var transaction = db.Database.CurrentTransaction!.GetDbTransaction();
        for (var attempt = 1; ; attempt++)
        {
            await transaction.SaveAsync("import_batch", ct);
            try
            {
                var result = await WriteOnceAsync(db, session, checkedRows, program, change, now, ct);
                await transaction.ReleaseAsync("import_batch", ct);
                return result;
            }
            catch (Npgsql.PostgresException e) when (attempt < MaxRedos
                && e.SqlState is Npgsql.PostgresErrorCodes.UniqueViolation or Npgsql.PostgresErrorCodes.DeadlockDetected)
            {
                await transaction.RollbackAsync("import_batch", ct);
                change.Discard(); // the outbox rows went with the savepoint
                Log.ImportBatchRedone(logger, session.ImportId, attempt, e.SqlState);
            }
        }
    }

    static void AddToTotals(ImportTotals totals, IReadOnlyList<ImportRowOutcome> outcomes, long points)
    {
        foreach (var outcome in outcomes)
        {
            if (outcome.Replayed)
                continue;
            totals.Rows++;
            if (outcome.Rejected is { } rejected)
            {
                totals.Rejected++;
                totals.RejectedByReason[rejected.Reason] = totals.RejectedByReason.GetValueOrDefault(rejected.Reason) + 1;
                continue;
            }
            totals.Accepted++;
            switch (outcome.Accepted.Acceptance)
            {
                case ImportAcceptance.Created: totals.Created++; break;
                case ImportAcceptance.Merged: totals.Merged++; break;
                case ImportAcceptance.AlreadyImported: totals.AlreadyImported++; break;
            }
        }
        totals.PointsMigrated += points;
    }

    /// <summary>One batch's classification and writes, on the caller's connection and transaction.</summary>
    sealed class BatchRun(ImportBatchWriter owner, IdentityDbContext db, ImportSession session, ImportOwners state, DateTimeOffset now, CancellationToken ct)
    {
        readonly Dictionary<string, MemberWork> work = new(StringComparer.Ordinal);
        readonly List<(ImportRowOutcome Outcome, CheckedRow Row, KeyWrite Key)> written = [];

        /// <summary>Keys another import only rejected that rows of this batch may take over: that import, key and row.</summary>
        readonly List<(string ImportId, string Key, long RowNumber)> handedOver = [];
        readonly bool postgres = db.Database.IsNpgsql();

        public long PointsMigrated { get; private set; }

        public async Task<IReadOnlyList<ImportRowOutcome>> ClassifyAsync(CheckedRow[] rows)
        {
            var prior = session.DryRunOutcomes ?? await LoadOutcomesAsync(rows);
            var keys = await LoadKeysAsync(rows);
            var uses = session.DryRun ? [] : await LoadUsesAsync(rows);
            await LoadOwnersAsync(rows);

            var outcomes = new List<ImportRowOutcome>(rows.Length);
            var inBatch = new Dictionary<long, ImportRowOutcome>();
            foreach (var row in rows)
            {
                if (prior.TryGetValue(row.RowNumber, out var earlier) || inBatch.TryGetValue(row.RowNumber, out earlier))
                {
                    var replay = earlier.Clone();
                    replay.Replayed = true;
                    outcomes.Add(replay);
                    continue;
                }
                var (outcome, keyWrite) = Classify(row, keys, uses);
                inBatch[row.RowNumber] = outcome;
                session.DryRunOutcomes?.Add(row.RowNumber, outcome);
                outcomes.Add(outcome);
                written.Add((outcome, row, keyWrite));
            }
            return outcomes;
        }

        /// <summary>
        /// The row's outcome, and what it writes about its key. A key belongs to the import that first brought it (its row
        /// imported or rejected) and passes to the import that brings in a row over a key only ever rejected; another
        /// import's row with the key records a use of it, so a later row with it in that import is a duplicate there.
        /// </summary>
        (ImportRowOutcome Outcome, KeyWrite Key) Classify(CheckedRow row, Dictionary<string, StoredKey> keys, Dictionary<string, long> uses)
        {
            var outcome = new ImportRowOutcome { RowNumber = row.RowNumber };
            var keyWrite = KeyWrite.None;
            if (row.SourceRowKey is { } key)
            {
                if (state.KeysSeen.TryGetValue(key, out var first) || uses.TryGetValue(key, out first))
                    return (Reject(outcome, new ImportRejection("source_row_key", ImportReasons.DuplicateRow, $"The row key was first used by row {first}.")), KeyWrite.None);
                keyWrite = KeyWrite.Own;
                if (keys.TryGetValue(key, out var stored))
                {
                    if (stored.ImportId == session.ImportId)
                        return (Reject(outcome, new ImportRejection("source_row_key", ImportReasons.DuplicateRow, $"The row key was first used by row {stored.RowNumber}.")), KeyWrite.None);
                    state.KeysSeen[key] = row.RowNumber;
                    if (stored.MemberId is { } memberId)
                    {
                        if (stored.RowHash.AsSpan().SequenceEqual(row.RowHash))
                        {
                            outcome.Accepted = new ImportAccepted { MemberId = memberId, Acceptance = ImportAcceptance.AlreadyImported };
                            return (outcome, KeyWrite.Use);
                        }
                        return (Reject(outcome, new ImportRejection("source_row_key", ImportReasons.DuplicateRow,
                            $"The row key was imported from this source by import {stored.ImportId} with other values.")), KeyWrite.Use);
                    }
                    // Only ever rejected: the key passes to this import if this row goes in. The import that rejected it
                    // keeps that row as its use of the key, so a later row with it there is still a duplicate of that row.
                    keyWrite = row.Rejection is null ? KeyWrite.Own : KeyWrite.Use;
                    if (keyWrite == KeyWrite.Own)
                        handedOver.Add((stored.ImportId, key, stored.RowNumber));
                }
                state.KeysSeen[key] = row.RowNumber;
            }
            if (row.Rejection is { } rejection)
                return (Reject(outcome, rejection), keyWrite);
            var accepted = Accept(outcome, row, row.Valid!);
            // A row the write turns away after all (an identity of another member) takes no key over.
            return (accepted, accepted.Rejected is not null && keyWrite == KeyWrite.Own && keys.ContainsKey(row.SourceRowKey!) ? KeyWrite.Use : keyWrite);
        }

        static ImportRowOutcome Reject(ImportRowOutcome outcome, ImportRejection rejection)
        {
            outcome.Rejected = new ImportRejected
            {
                Field = rejection.Field, Reason = rejection.Reason, Detail = rejection.Detail, OwnerMemberId = rejection.OwnerMemberId ?? "",
            };
            return outcome;
        }

        ImportRowOutcome Accept(ImportRowOutcome outcome, CheckedRow row, ValidRow valid)
        {
            var phoneHex = valid.PhoneIndex is { } index ? Convert.ToHexString(index) : null;
            var target = phoneHex is not null ? state.PhoneOwners.GetValueOrDefault(phoneHex) : null;
            var takesPhone = false;
            for (var i = 0; i < valid.Identities.Count; i++)
            {
                if (state.IdentityOwners.GetValueOrDefault(valid.Identities[i]) is not { } identityOwner || identityOwner == target)
                    continue;
                if (target is null && (valid.Phone is null || !state.HasPhone.GetValueOrDefault(identityOwner)))
                {
                    // A fan (no phone) known by this identity: the row joins it, and a row with a phone gives it that phone.
                    target = identityOwner;
                    takesPhone = valid.Phone is not null;
                    continue;
                }
                return Reject(outcome, new ImportRejection(valid.IdentityFields[i], ImportReasons.IdentityConflict,
                    $"The {(Channel)valid.Identities[i].Channel} identity belongs to another member.", identityOwner));
            }

            MemberWork member;
            if (target is null)
            {
                member = new MemberWork(MemberDirectory.NewId(), isNew: true)
                {
                    PhoneIndex = valid.PhoneIndex,
                    PhoneCiphertext = valid.PhoneCiphertext,
                    Name = valid.Name, Gender = valid.Gender, Birthday = valid.Birthday,
                    Channel = valid.Channel, StoreId = valid.StoreId, GuideId = valid.GuideId,
                    CreatedAt = valid.RegisteredAt ?? now,
                };
                work[member.Id] = member;
                state.HasPhone[member.Id] = valid.Phone is not null;
                if (phoneHex is not null)
                    state.PhoneOwners[phoneHex] = member.Id;
                outcome.Accepted = new ImportAccepted { MemberId = member.Id, Acceptance = ImportAcceptance.Created };
            }
            else
            {
                member = Work(target);
                if (takesPhone)
                {
                    member.PhoneIndex = valid.PhoneIndex;
                    member.PhoneCiphertext = valid.PhoneCiphertext;
                    member.PhoneAdded = !member.IsNew;
                    state.HasPhone[member.Id] = true;
                    state.PhoneOwners[phoneHex!] = member.Id;
                }
                // Later rows of the same person fill what the first left empty; they never overwrite it.
                if (member.IsNew)
                {
                    member.Name ??= valid.Name;
                    member.Gender = member.Gender == 0 ? valid.Gender : member.Gender;
                    member.Birthday ??= valid.Birthday;
                }
                else if (valid.Name is not null || valid.Gender != 0 || valid.Birthday is not null)
                {
                    member.Name ??= valid.Name;
                    member.Gender = member.Gender == 0 ? valid.Gender : member.Gender;
                    member.Birthday ??= valid.Birthday;
                    member.ProfileOffered = true;
                }
                outcome.Accepted = new ImportAccepted { MemberId = member.Id, Acceptance = ImportAcceptance.Merged };
            }

            foreach (var identity in valid.Identities)
            {
                if (state.IdentityOwners.ContainsKey(identity))
                    continue;
                state.IdentityOwners[identity] = member.Id;
                member.Identities.Add((identity, valid.Channel, valid.StoreId));
            }

            var reference = $"import:{session.Source}:{row.SourceRowKey}";
            if (valid.Points > 0)
            {
                member.Points.Add((valid.Points, valid.PointsExpireAt, reference));
                PointsMigrated += valid.Points;
            }
            if (valid.Growth > 0)
                member.Growth.Add((valid.Growth, reference));
            if (valid.GrowthTierHint is { } hint)
            {
                var program = owner.Catalog.Program;
                // The hint was checked against the program of the row check; one published since may have dropped the
                // tier: it then hints nothing (the write below reads it the same way).
                if (member.GrowthTierHint is null || (program.FindTier(hint)?.Rank ?? -1) > (program.FindTier(member.GrowthTierHint)?.Rank ?? -1))
                    member.GrowthTierHint = hint;
            }
            if (valid.PaidExpiresAt is { } paidExpiry && paidExpiry > (member.PaidExpiresAt ?? DateTimeOffset.MinValue))
                (member.PaidTierCode, member.PaidExpiresAt) = (valid.PaidTierCode, paidExpiry);
            return outcome;
        }

        /// <summary>The work on a member this batch did not create (in the store, or for a dry run made by an earlier batch).</summary>
        MemberWork Work(string memberId)
        {
            if (!work.TryGetValue(memberId, out var member))
                work[memberId] = member = new MemberWork(memberId, isNew: false);
            return member;
        }

        // ---- reads: one query per kind, IN lists in chunks ----

        DbCommand Command(string sql)
        {
            var command = db.Database.GetDbConnection().CreateCommand();
            command.CommandText = sql;
            command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
            return command;
        }

        static DbParameter Value(DbCommand command, string name, object value)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
            return parameter;
        }

        /// <summary>
        /// The driving table of a batch lookup, its column <c>j.value</c>: on SQLite <c>json_each</c> over a JSON array
        /// (CROSS JOIN keeps it first in the plan), on PostgreSQL <c>unnest</c> over an array parameter.
        /// </summary>
        string Each(string parameter) => postgres ? $"unnest({parameter}) AS j(value) JOIN" : $"json_each({parameter}) j CROSS JOIN";

        /// <summary>
        /// On PostgreSQL, where other instances write at once, the member and account rows a batch builds on are locked
        /// as they are read (as <see cref="PostgresRowLocks"/> does for other writes): a balance or a phone owner read here
        /// cannot change before the batch commits. SQLite's write gate already orders every write.
        /// </summary>
        string Lock(string alias) => postgres && !session.DryRun ? $" FOR UPDATE OF {alias}" : "";

        /// <summary>A lookup's values as <see cref="Each"/> binds them: an array on PostgreSQL, a JSON array on SQLite.</summary>
        object List(IReadOnlyList<long> values) => postgres ? values.ToArray() : JsonArray(values, (json, value) => json.WriteNumberValue(value));

        object List(IReadOnlyList<string> values) => postgres ? values.ToArray() : JsonArray(values, (json, value) => json.WriteStringValue(value));

        /// <summary>
        /// A batch's keys as one JSON array parameter, joined with <c>json_each</c> as the driving table: one statement
        /// and one parameter however many keys, each probing the index (a 1000-item IN list costs more to bind than to run).
        /// </summary>
        static string JsonArray<T>(IEnumerable<T> values, Action<System.Text.Json.Utf8JsonWriter, T> write)
        {
            using var buffer = new MemoryStream();
            using (var json = new System.Text.Json.Utf8JsonWriter(buffer))
            {
                json.WriteStartArray();
                foreach (var value in values)
                    write(json, value);
                json.WriteEndArray();
            }
            return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }

        async Task<Dictionary<long, ImportRowOutcome>> LoadOutcomesAsync(CheckedRow[] rows)
        {
            var result = new Dictionary<long, ImportRowOutcome>();
            await using var command = Command(
                "SELECT r.\"RowNumber\", r.\"Acceptance\", r.\"MemberId\", r.\"Reason\", r.\"Field\", r.\"Detail\", r.\"OwnerMemberId\" " +
                $"FROM {Each("@rows")} import_rows r ON r.\"ImportId\" = @import AND r.\"RowNumber\" = j.value");
            Value(command, "@rows", List(rows.Select(row => row.RowNumber).ToList()));
            Value(command, "@import", session.ImportId);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                var outcome = new ImportRowOutcome { RowNumber = reader.GetInt64(0) };
                var acceptance = reader.GetInt32(1);
                if (acceptance == 0)
                    outcome.Rejected = new ImportRejected
                    {
                        Reason = reader.GetString(3), Field = reader.IsDBNull(4) ? "" : reader.GetString(4),
                        Detail = reader.IsDBNull(5) ? "" : reader.GetString(5), OwnerMemberId = reader.IsDBNull(6) ? "" : reader.GetString(6),
                    };
                else
                    outcome.Accepted = new ImportAccepted { MemberId = reader.GetString(2), Acceptance = (ImportAcceptance)acceptance };
                result[outcome.RowNumber] = outcome;
            }
            return result;
        }

        async Task<Dictionary<string, StoredKey>> LoadKeysAsync(CheckedRow[] rows)
        {
            var result = new Dictionary<string, StoredKey>(StringComparer.Ordinal);
            var wanted = UnseenKeys(rows);
            if (wanted.Count == 0)
                return result;
            await using var command = Command(
                // A member merged since its row came in is answered by its survivor (merges keep MergedIntoId on the last one).
                "SELECT k.\"SourceRowKey\", k.\"ImportId\", k.\"RowNumber\", k.\"RowHash\", COALESCE(m.\"MergedIntoId\", k.\"MemberId\") " +
                $"FROM {Each("@keys")} import_keys k ON k.\"Source\" = @source AND k.\"SourceRowKey\" = j.value " +
                "LEFT JOIN members m ON m.\"Id\" = k.\"MemberId\"");
            Value(command, "@keys", List(wanted));
            Value(command, "@source", session.Source);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
                result[reader.GetString(0)] = new StoredKey(reader.GetString(1), reader.GetInt64(2), (byte[])reader[3],
                    reader.IsDBNull(4) ? null : reader.GetString(4));
            return result;
        }

        /// <summary>The row keys of these rows that this run has not met yet (those it has are answered from <see cref="ImportOwners.KeysSeen"/>).</summary>
        List<string> UnseenKeys(CheckedRow[] rows) =>
            rows.Where(r => r.SourceRowKey is not null && !state.KeysSeen.ContainsKey(r.SourceRowKey)).Select(r => r.SourceRowKey!).Distinct().ToList();

        /// <summary>The keys of these rows that an earlier batch of this import used over another import's key.</summary>
        async Task<Dictionary<string, long>> LoadUsesAsync(CheckedRow[] rows)
        {
            var result = new Dictionary<string, long>(StringComparer.Ordinal);
            var wanted = UnseenKeys(rows);
            if (wanted.Count == 0)
                return result;
            await using var command = Command(
                "SELECT u.\"SourceRowKey\", u.\"RowNumber\" " +
                $"FROM {Each("@keys")} import_key_uses u ON u.\"ImportId\" = @import AND u.\"SourceRowKey\" = j.value");
            Value(command, "@keys", List(wanted));
            Value(command, "@import", session.ImportId);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
                result[reader.GetString(0)] = reader.GetInt64(1);
            return result;
        }

        async Task LoadOwnersAsync(CheckedRow[] rows)
        {
            var phones = new List<string>();
            var identities = new List<IdentityKey>();
            foreach (var row in rows)
            {
                if (row.Valid is not { } valid)
                    continue;
                if (valid.PhoneIndex is { } index && Convert.ToHexString(index) is var hex && state.PhonesLookedUp.Add(hex))
                    phones.Add(hex);
                foreach (var identity in valid.Identities)
                    if (state.IdentitiesLookedUp.Add(identity))
                        identities.Add(identity);
            }

            if (phones.Count > 0)
            {
                await using var command = Command(postgres
                    ? "SELECT m.\"Id\", m.\"PhoneIndex\" FROM unnest(@phones) AS j(value) JOIN members m ON m.\"PhoneIndex\" = j.value" + Lock("m")
                    : "SELECT m.\"Id\", m.\"PhoneIndex\" FROM json_each(@phones) j CROSS JOIN members m ON m.\"PhoneIndex\" = unhex(j.value)");
                Value(command, "@phones", postgres
                    ? phones.Select(Convert.FromHexString).ToArray()
                    : JsonArray(phones, (json, hex) => json.WriteStringValue(hex)));
                await using var reader = await command.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    var id = reader.GetString(0);
                    state.PhoneOwners[Convert.ToHexString((byte[])reader[1])] = id;
                    state.HasPhone[id] = true;
                    state.StoredMembers.Add(id);
                }
            }

            if (identities.Count > 0)
            {
                await using var command = Command(postgres
                    ? "SELECT i.\"Channel\", i.\"ExternalId\", i.\"MemberId\", m.\"PhoneIndex\" IS NOT NULL FROM unnest(@channels, @externals) AS j(channel, external) " +
                      "JOIN channel_identities i ON i.\"Channel\" = j.channel AND i.\"ExternalId\" = j.external JOIN members m ON m.\"Id\" = i.\"MemberId\"" + Lock("m")
                    : "SELECT i.\"Channel\", i.\"ExternalId\", i.\"MemberId\", m.\"PhoneIndex\" IS NOT NULL FROM json_each(@identities) j " +
                      "CROSS JOIN channel_identities i ON i.\"Channel\" = j.value ->> '$[0]' AND i.\"ExternalId\" = j.value ->> '$[1]' " +
                      "JOIN members m ON m.\"Id\" = i.\"MemberId\"");
                if (postgres)
                {
                    Value(command, "@channels", identities.Select(identity => identity.Channel).ToArray());
                    Value(command, "@externals", identities.Select(identity => identity.ExternalId).ToArray());
                }
                else
                    Value(command, "@identities", JsonArray(identities, (json, identity) =>
                    {
                        json.WriteStartArray();
                        json.WriteNumberValue(identity.Channel);
                        json.WriteStringValue(identity.ExternalId);
                        json.WriteEndArray();
                    }));
                await using var reader = await command.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    var id = reader.GetString(2);
                    state.IdentityOwners[new IdentityKey(reader.GetInt32(0), reader.GetString(1))] = id;
                    state.HasPhone.TryAdd(id, reader.GetBoolean(3));
                    state.StoredMembers.Add(id);
                }
            }
        }

        // ---- writes: one multi-row statement per table (BulkRows) ----

        BulkRows Rows(string name, params (string, BulkType)[] columns) => new(postgres, name, columns);

        async Task ExecuteAsync(string sql, BulkRows rows, string? importId = null, string? source = null)
        {
            if (rows.Count == 0)
                return;
            await using var command = Command(sql);
            rows.Bind(command);
            if (sql.Contains("@now", StringComparison.Ordinal))
                Value(command, "@now", now.UtcTicks);
            if (importId is not null)
                Value(command, "@import", importId);
            if (source is not null)
                Value(command, "@source", source);
            await command.ExecuteNonQueryAsync(ct);
        }

        /// <summary>Runs a statement over <paramref name="rows"/> whose RETURNING clause gives (member id, version) pairs.</summary>
        async Task<Dictionary<string, long>> VersionsAsync(string sql, BulkRows rows)
        {
            var versions = new Dictionary<string, long>(StringComparer.Ordinal);
            if (rows.Count == 0)
                return versions;
            await using var command = Command(sql);
            rows.Bind(command);
            Value(command, "@now", now.UtcTicks);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
                versions[reader.GetString(0)] = reader.GetInt64(1);
            return versions;
        }

        public async Task WriteAsync(LoyaltyProgram program, CacheChange change)
        {
            var existing = work.Values.Where(w => !w.IsNew).Select(w => w.Id).ToList();
            var accounts = await LoadAccountsAsync(work.Values.Where(w => w.HasLoyalty && !w.IsNew).Select(w => w.Id).ToList());

            // New members first: on PostgreSQL a POS enrolment of one of their phones then waits for this batch and finds
            // its member, and the span in which one can slip in between the batch's reads and its inserts stays short.
            var inserts = Rows("members", ("id", BulkType.Text), ("cipher", BulkType.Blob), ("pidx", BulkType.Blob), ("name", BulkType.Text),
                ("gender", BulkType.Integer), ("birthday", BulkType.Text), ("channel", BulkType.Integer), ("store", BulkType.Text),
                ("guide", BulkType.Text), ("created", BulkType.Integer));
            var updates = Rows("changes", ("id", BulkType.Text), ("cipher", BulkType.Blob), ("pidx", BulkType.Blob), ("name", BulkType.Text),
                ("gender", BulkType.Integer), ("birthday", BulkType.Text), ("bump", BulkType.Integer));
            foreach (var member in work.Values)
            {
                if (member.IsNew)
                    inserts.Add(member.Id, member.PhoneCiphertext, member.PhoneIndex, member.Name, member.Gender, member.Birthday, member.Channel,
                        member.StoreId, member.GuideId, member.CreatedAt.UtcTicks);
                else
                    updates.Add(member.Id, member.PhoneAdded ? member.PhoneCiphertext : null, member.PhoneAdded ? member.PhoneIndex : null,
                        member.Name, member.Gender, member.Birthday, member.MemberChanged ? 1 : 0);
            }
            await ExecuteAsync(
                "INSERT INTO members (\"Id\", \"State\", \"PhoneCiphertext\", \"PhoneIndex\", \"Name\", \"Gender\", \"Birthday\", \"EnrolledChannel\", " +
                "\"EnrolledStoreId\", \"EnrolledGuideId\", \"CreatedAt\", \"UpdatedAt\", \"Version\", \"ErasureReasonCode\") " +
                "SELECT u.v_id, 1, u.v_cipher, u.v_pidx, u.v_name, u.v_gender, u.v_birthday, u.v_channel, u.v_store, u.v_guide, u.v_created, @now, 1, 0 " +
                $"FROM {inserts.Source}", inserts);
            var versions = await VersionsAsync(
                "UPDATE members SET \"Name\" = COALESCE(members.\"Name\", u.v_name), " +
                "\"Gender\" = CASE WHEN members.\"Gender\" = 0 THEN u.v_gender ELSE members.\"Gender\" END, " +
                "\"Birthday\" = COALESCE(members.\"Birthday\", u.v_birthday), \"PhoneCiphertext\" = COALESCE(u.v_cipher, members.\"PhoneCiphertext\"), " +
                "\"PhoneIndex\" = COALESCE(u.v_pidx, members.\"PhoneIndex\"), \"Version\" = members.\"Version\" + u.v_bump, " +
                "\"UpdatedAt\" = CASE WHEN u.v_bump = 1 THEN @now ELSE members.\"UpdatedAt\" END " +
                $"FROM {updates.Source} WHERE members.\"Id\" = u.v_id RETURNING \"Id\", \"Version\"", updates);

            var bindings = Rows("bindings", ("channel", BulkType.Integer), ("external", BulkType.Text), ("member", BulkType.Text),
                ("via", BulkType.Integer), ("store", BulkType.Text));
            foreach (var member in work.Values)
            foreach (var (key, viaChannel, storeId) in member.Identities)
                bindings.Add(key.Channel, key.ExternalId, member.Id, viaChannel, storeId);
            await ExecuteAsync(
                "INSERT INTO channel_identities (\"Channel\", \"ExternalId\", \"MemberId\", \"BoundAt\", \"BoundViaChannel\", \"BoundAtStoreId\") " +
                $"SELECT u.v_channel, u.v_external, u.v_member, @now, u.v_via, u.v_store FROM {bindings.Source}", bindings);

            var accountVersions = await WriteLoyaltyAsync(program, accounts);
            await WriteOutcomesAsync();

            // Cache: a member that already existed changed; a new member's lookups may be remembered as unknown. The keys
            // go to the outbox packed, hundreds to a row (OutboxKeys): a row each was two or three outbox rows per imported
            // row, each inserted here, then read, marked applied and deleted by every poll through the same single writer.
            var entries = new List<KeyValuePair<string, long>>();
            foreach (var id in existing)
            {
                var member = work[id];
                if (!member.MemberChanged && !accountVersions.ContainsKey(id))
                    continue;
                var memberVersion = versions.GetValueOrDefault(id);
                var accountVersion = accountVersions.TryGetValue(id, out var v) ? v : accounts.GetValueOrDefault(id)?.Version ?? 0;
                entries.Add(KeyValuePair.Create(owner.CacheKeys.Member(id), memberVersion + accountVersion));
                if (member.PhoneAdded)
                    entries.Add(KeyValuePair.Create(owner.CacheKeys.Phone(member.PhoneIndex!), 0L));
                foreach (var (key, _, _) in member.Identities)
                    entries.Add(KeyValuePair.Create(owner.CacheKeys.Identity(key), 0L));
            }
            foreach (var key in NewMemberLookups.Keys(owner.CacheKeys, work.Values))
                entries.Add(KeyValuePair.Create(key, 0L));
            await WriteOutboxAsync(entries, change);
        }

        /// <summary>Writes the cache keys to the outbox in this transaction and hands them to the change (dropped from the caches after commit).</summary>
        async Task WriteOutboxAsync(List<KeyValuePair<string, long>> entries, CacheChange change)
        {
            if (entries.Count == 0)
                return;
            var outbox = Rows("outbox", ("key", BulkType.Text));
            foreach (var packed in OutboxKeys.Pack(entries))
                outbox.Add(packed);
            await using var command = Command("INSERT INTO cache_outbox (\"Key\", \"Version\", \"CreatedAt\", \"Applied\") " +
                                              $"SELECT u.v_key, 0, @now, FALSE FROM {outbox.Source} RETURNING \"Id\", \"Key\"");
            outbox.Bind(command);
            Value(command, "@now", now.UtcTicks);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
                change.Add(new CacheOutboxRecord { Id = reader.GetInt64(0), Key = reader.GetString(1), CreatedAt = now });
        }

        async Task<Dictionary<string, LoyaltyAccountRecord>> LoadAccountsAsync(IReadOnlyList<string> memberIds)
        {
            var result = new Dictionary<string, LoyaltyAccountRecord>(StringComparer.Ordinal);
            if (memberIds.Count == 0)
                return result;
            await using var command = Command(
                "SELECT a.\"MemberId\", a.\"GrowthTierCode\", a.\"AssessmentAt\", a.\"PaidTierCode\", a.\"PaidExpiresAt\", a.\"Growth\", " +
                $"a.\"PointsBalance\", a.\"Version\" FROM {Each("@members")} loyalty_accounts a ON a.\"MemberId\" = j.value" + Lock("a"));
            Value(command, "@members", List(memberIds));
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
                result[reader.GetString(0)] = new LoyaltyAccountRecord
                {
                    MemberId = reader.GetString(0), GrowthTierCode = reader.GetString(1), AssessmentAt = Ticks(reader.GetInt64(2)),
                    PaidTierCode = reader.IsDBNull(3) ? null : reader.GetString(3), PaidExpiresAt = reader.IsDBNull(4) ? null : Ticks(reader.GetInt64(4)),
                    Growth = reader.GetInt64(5), PointsBalance = reader.GetInt64(6), Version = reader.GetInt64(7),
                };
            return result;
        }

        static DateTimeOffset Ticks(long ticks) => new(ticks, TimeSpan.Zero);

        /// <summary>Migrated points, growth and tiers; returns each changed account's new version.</summary>
        async Task<Dictionary<string, long>> WriteLoyaltyAsync(LoyaltyProgram program, Dictionary<string, LoyaltyAccountRecord> accounts)
        {
            var lots = Rows("lots", ("member", BulkType.Text), ("points", BulkType.Integer), ("expires", BulkType.Integer), ("reference", BulkType.Text));
            var entries = Rows("entries", ("member", BulkType.Text), ("points", BulkType.Integer), ("balance", BulkType.Integer), ("reference", BulkType.Text));
            var growth = Rows("growth", ("member", BulkType.Text), ("amount", BulkType.Integer), ("reference", BulkType.Text));
            var states = Rows("accounts", ("member", BulkType.Text), ("tier", BulkType.Text), ("assessment", BulkType.Integer), ("paid", BulkType.Text),
                ("paid_expires", BulkType.Integer), ("growth", BulkType.Integer), ("balance", BulkType.Integer));

            foreach (var member in work.Values)
            {
                if (!member.HasLoyalty)
                    continue;
                var stored = accounts.GetValueOrDefault(member.Id);
                // The assessment counts from the import: a carried-over tier is held for one assessment period.
                var tier = stored is null ? TierEvaluator.NewMember(program, now) : LoyaltyAccounts.State(stored);
                var balance = stored?.PointsBalance ?? 0;
                var growthValue = stored?.Growth ?? 0;
                foreach (var (points, expiresAt, reference) in member.Points)
                {
                    balance += points;
                    lots.Add(member.Id, points, expiresAt.UtcTicks, reference);
                    entries.Add(member.Id, points, balance, reference);
                }
                foreach (var (amount, reference) in member.Growth)
                {
                    growthValue += amount;
                    growth.Add(member.Id, amount, reference);
                }
                if (member.Growth.Count > 0)
                    tier = TierEvaluator.AfterGrowthChange(program, tier, growthValue, now).State;
                if (member.GrowthTierHint is { } hint && program.FindTier(hint) is { } hinted
                    && hinted.Rank > (program.FindTier(tier.GrowthTierCode)?.Rank ?? -1))
                    tier = tier with { GrowthTierCode = hint };
                if (member.PaidExpiresAt is { } paidExpires && paidExpires > (tier.PaidExpiresAt ?? DateTimeOffset.MinValue))
                    tier = tier with { PaidTierCode = member.PaidTierCode, PaidExpiresAt = paidExpires };
                states.Add(member.Id, tier.GrowthTierCode, tier.AssessmentAt.UtcTicks, tier.PaidTierCode, tier.PaidExpiresAt?.UtcTicks, growthValue, balance);
            }

            // Rows go in in the order given (json_each and unnest read their arrays in order), so a member's ledger entries
            // keep their running balance in id order.
            await ExecuteAsync("INSERT INTO points_lots (\"MemberId\", \"Points\", \"Remaining\", \"EarnedAt\", \"ExpiresAt\", \"Source\") " +
                               $"SELECT u.v_member, u.v_points, u.v_points, @now, u.v_expires, u.v_reference FROM {lots.Source}", lots);
            await ExecuteAsync("INSERT INTO points_entries (\"MemberId\", \"Kind\", \"Points\", \"BalanceAfter\", \"Reference\", \"Reason\", \"CreatedAt\") " +
                               $"SELECT u.v_member, {(int)PointsEntryKind.Import}, u.v_points, u.v_balance, u.v_reference, 'migrated', @now FROM {entries.Source}", entries);
            await ExecuteAsync("INSERT INTO growth_events (\"MemberId\", \"Amount\", \"OccurredAt\", \"Reference\") " +
                               $"SELECT u.v_member, u.v_amount, @now, u.v_reference FROM {growth.Source}", growth);
            // WHERE true: SQLite needs it to read ON CONFLICT as the upsert, not as a join constraint.
            return await VersionsAsync(
                "INSERT INTO loyalty_accounts (\"MemberId\", \"GrowthTierCode\", \"AssessmentAt\", \"PaidTierCode\", \"PaidExpiresAt\", \"Growth\", \"PointsBalance\", \"Version\", \"UpdatedAt\") " +
                $"SELECT u.v_member, u.v_tier, u.v_assessment, u.v_paid, u.v_paid_expires, u.v_growth, u.v_balance, 1, @now FROM {states.Source} WHERE true " +
                "ON CONFLICT (\"MemberId\") DO UPDATE SET \"GrowthTierCode\" = excluded.\"GrowthTierCode\", \"AssessmentAt\" = excluded.\"AssessmentAt\", " +
                "\"PaidTierCode\" = excluded.\"PaidTierCode\", \"PaidExpiresAt\" = excluded.\"PaidExpiresAt\", \"Growth\" = excluded.\"Growth\", " +
                "\"PointsBalance\" = excluded.\"PointsBalance\", \"Version\" = loyalty_accounts.\"Version\" + 1, \"UpdatedAt\" = excluded.\"UpdatedAt\" " +
                "RETURNING \"MemberId\", \"Version\"", states);
        }

        async Task WriteOutcomesAsync()
        {
            var outcomes = Rows("outcomes", ("row", BulkType.Integer), ("acceptance", BulkType.Integer), ("member", BulkType.Text), ("reason", BulkType.Text),
                ("field", BulkType.Text), ("detail", BulkType.Text), ("owner", BulkType.Text));
            var keys = Rows("keys", ("key", BulkType.Text), ("row", BulkType.Integer), ("hash", BulkType.Blob), ("member", BulkType.Text));
            var uses = Rows("uses", ("key", BulkType.Text), ("row", BulkType.Integer));
            foreach (var (outcome, row, keyWrite) in written)
            {
                string? memberId = null;
                if (outcome.Rejected is { } rejected)
                    outcomes.Add(outcome.RowNumber, 0L, null, rejected.Reason, rejected.Field, rejected.Detail, rejected.OwnerMemberId is { Length: > 0 } o ? o : null);
                else
                {
                    memberId = outcome.Accepted.MemberId;
                    outcomes.Add(outcome.RowNumber, (long)outcome.Accepted.Acceptance, memberId, null, null, null, null);
                }
                if (keyWrite == KeyWrite.Own)
                    keys.Add(row.SourceRowKey!, row.RowNumber, row.RowHash, memberId);
                else if (keyWrite == KeyWrite.Use)
                    uses.Add(row.SourceRowKey!, row.RowNumber);
            }
            await ExecuteAsync("INSERT INTO import_rows (\"ImportId\", \"RowNumber\", \"Acceptance\", \"MemberId\", \"Reason\", \"Field\", \"Detail\", \"OwnerMemberId\") " +
                               $"SELECT @import, u.v_row, u.v_acceptance, u.v_member, u.v_reason, u.v_field, u.v_detail, u.v_owner FROM {outcomes.Source}", outcomes, session.ImportId);
            await ExecuteAsync("INSERT INTO import_keys (\"Source\", \"SourceRowKey\", \"ImportId\", \"RowNumber\", \"RowHash\", \"MemberId\") " +
                               $"SELECT @source, u.v_key, @import, u.v_row, u.v_hash, u.v_member FROM {keys.Source} WHERE true " +
                               "ON CONFLICT (\"Source\", \"SourceRowKey\") DO UPDATE SET \"ImportId\" = excluded.\"ImportId\", \"RowNumber\" = excluded.\"RowNumber\", " +
                               "\"RowHash\" = excluded.\"RowHash\", \"MemberId\" = excluded.\"MemberId\" " +
                               // A key another import rejected goes to the import that brings its row in; no other row takes a key.
                               "WHERE import_keys.\"MemberId\" IS NULL AND excluded.\"MemberId\" IS NOT NULL", keys, session.ImportId, session.Source);
            await ExecuteAsync("INSERT INTO import_key_uses (\"ImportId\", \"SourceRowKey\", \"RowNumber\") " +
                               $"SELECT @import, u.v_key, u.v_row FROM {uses.Source} WHERE true ON CONFLICT DO NOTHING", uses, session.ImportId);
            if (handedOver.Count > 0)
            {
                // Recorded whether or not the key did pass (a concurrent import may have taken it first): that import's row
                // used the key either way.
                var previous = Rows("previous", ("import", BulkType.Text), ("key", BulkType.Text), ("row", BulkType.Integer));
                foreach (var (importId, key, rowNumber) in handedOver)
                    previous.Add(importId, key, rowNumber);
                await ExecuteAsync("INSERT INTO import_key_uses (\"ImportId\", \"SourceRowKey\", \"RowNumber\") " +
                                   $"SELECT u.v_import, u.v_key, u.v_row FROM {previous.Source} WHERE true ON CONFLICT DO NOTHING", previous);
            }
        }
    }

    /// <summary>What a row writes about its key: nothing, the key itself (<c>import_keys</c>), or a use of another import's key.</summary>
    enum KeyWrite { None, Own, Use }

    sealed record StoredKey(string ImportId, long RowNumber, byte[] RowHash, string? MemberId);
}
