using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Identity.Service.Storage.PostgresMigrations
{
    /// <inheritdoc />
    public partial class Initial : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "audit_events",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    ClientId = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    ClientName = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    Rpc = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    MemberId = table.Column<string>(type: "text", nullable: true, collation: "C"),
                    Outcome = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    OccurredAt = table.Column<long>(type: "bigint", nullable: false),
                    Count = table.Column<int>(type: "integer", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_audit_events", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "cache_outbox",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    Key = table.Column<string>(type: "character varying(32)", maxLength: 32, nullable: false, collation: "C"),
                    Version = table.Column<long>(type: "bigint", nullable: false),
                    CreatedAt = table.Column<long>(type: "bigint", nullable: false),
                    Applied = table.Column<bool>(type: "boolean", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_cache_outbox", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "check_ins",
                columns: table => new
                {
                    MemberId = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    LocalDate = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    Points = table.Column<long>(type: "bigint", nullable: false),
                    At = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_check_ins", x => new { x.MemberId, x.LocalDate });
                });

            migrationBuilder.CreateTable(
                name: "clients",
                columns: table => new
                {
                    Id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    Name = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false, collation: "C"),
                    Role = table.Column<int>(type: "integer", nullable: false),
                    Stores = table.Column<string>(type: "text", nullable: true, collation: "C"),
                    Channel = table.Column<int>(type: "integer", nullable: false),
                    RequestsPerSecond = table.Column<int>(type: "integer", nullable: false),
                    KeyHash = table.Column<byte[]>(type: "bytea", nullable: false),
                    KeyPrefix = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    CreatedAt = table.Column<long>(type: "bigint", nullable: false),
                    RevokedAt = table.Column<long>(type: "bigint", nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_clients", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "growth_events",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    MemberId = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    Amount = table.Column<long>(type: "bigint", nullable: false),
                    OccurredAt = table.Column<long>(type: "bigint", nullable: false),
                    Reference = table.Column<string>(type: "text", nullable: false, collation: "C")
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_growth_events", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "idempotency_keys",
                columns: table => new
                {
                    Scope = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    Key = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    RequestHash = table.Column<byte[]>(type: "bytea", nullable: false),
                    MemberId = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true, collation: "C"),
                    Response = table.Column<byte[]>(type: "bytea", nullable: false),
                    FailureReason = table.Column<string>(type: "text", nullable: true, collation: "C"),
                    CreatedAt = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_idempotency_keys", x => new { x.Scope, x.Key });
                });

            migrationBuilder.CreateTable(
                name: "loyalty_accounts",
                columns: table => new
                {
                    MemberId = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    GrowthTierCode = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    AssessmentAt = table.Column<long>(type: "bigint", nullable: false),
                    PaidTierCode = table.Column<string>(type: "text", nullable: true, collation: "C"),
                    PaidExpiresAt = table.Column<long>(type: "bigint", nullable: true),
                    Growth = table.Column<long>(type: "bigint", nullable: false),
                    PointsBalance = table.Column<long>(type: "bigint", nullable: false),
                    Version = table.Column<long>(type: "bigint", nullable: false),
                    UpdatedAt = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_loyalty_accounts", x => x.MemberId);
                });

            migrationBuilder.CreateTable(
                name: "members",
                columns: table => new
                {
                    Id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false, collation: "C"),
                    State = table.Column<int>(type: "integer", nullable: false),
                    PhoneCiphertext = table.Column<byte[]>(type: "bytea", nullable: true),
                    PhoneIndex = table.Column<byte[]>(type: "bytea", nullable: true),
                    Name = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true, collation: "C"),
                    Gender = table.Column<int>(type: "integer", nullable: false),
                    Birthday = table.Column<string>(type: "character varying(10)", maxLength: 10, nullable: true, collation: "C"),
                    EnrolledChannel = table.Column<int>(type: "integer", nullable: false),
                    EnrolledStoreId = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true, collation: "C"),
                    EnrolledGuideId = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true, collation: "C"),
                    CreatedAt = table.Column<long>(type: "bigint", nullable: false),
                    UpdatedAt = table.Column<long>(type: "bigint", nullable: false),
                    Version = table.Column<long>(type: "bigint", nullable: false),
                    MergedIntoId = table.Column<string>(type: "text", nullable: true, collation: "C"),
                    ErasedAt = table.Column<long>(type: "bigint", nullable: true),
                    ErasureReasonCode = table.Column<int>(type: "integer", nullable: false),
                    ErasureTicketRef = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true, collation: "C")
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_members", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "merges",
                columns: table => new
                {
                    Id = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    SurvivorId = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    AbsorbedId = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    Kind = table.Column<int>(type: "integer", nullable: false),
                    Reason = table.Column<string>(type: "character varying(256)", maxLength: 256, nullable: false, collation: "C"),
                    Actor = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    MovedIdentities = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    FilledFields = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    MergedAt = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_merges", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "orders",
                columns: table => new
                {
                    Channel = table.Column<int>(type: "integer", nullable: false),
                    OrderId = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    MemberId = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    StoreId = table.Column<string>(type: "text", nullable: true, collation: "C"),
                    GuideId = table.Column<string>(type: "text", nullable: true, collation: "C"),
                    AmountFen = table.Column<long>(type: "bigint", nullable: false),
                    PaidAt = table.Column<long>(type: "bigint", nullable: false),
                    PointsEarned = table.Column<long>(type: "bigint", nullable: false),
                    GrowthEarned = table.Column<long>(type: "bigint", nullable: false),
                    RefundedFen = table.Column<long>(type: "bigint", nullable: false),
                    PointsReversed = table.Column<long>(type: "bigint", nullable: false),
                    GrowthReversed = table.Column<long>(type: "bigint", nullable: false),
                    Partner = table.Column<bool>(type: "boolean", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_orders", x => new { x.Channel, x.OrderId });
                });

            migrationBuilder.CreateTable(
                name: "partner_links",
                columns: table => new
                {
                    ClientId = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    PartnerMemberId = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    MemberId = table.Column<string>(type: "text", nullable: false, collation: "C")
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_partner_links", x => new { x.ClientId, x.PartnerMemberId });
                });

            migrationBuilder.CreateTable(
                name: "points_entries",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    MemberId = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    Kind = table.Column<int>(type: "integer", nullable: false),
                    Points = table.Column<long>(type: "bigint", nullable: false),
                    BalanceAfter = table.Column<long>(type: "bigint", nullable: false),
                    Reference = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    Reason = table.Column<string>(type: "text", nullable: true, collation: "C"),
                    CreatedAt = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_points_entries", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "points_lots",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    MemberId = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    Points = table.Column<long>(type: "bigint", nullable: false),
                    Remaining = table.Column<long>(type: "bigint", nullable: false),
                    EarnedAt = table.Column<long>(type: "bigint", nullable: false),
                    ExpiresAt = table.Column<long>(type: "bigint", nullable: false),
                    Source = table.Column<string>(type: "text", nullable: false, collation: "C")
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_points_lots", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "programs",
                columns: table => new
                {
                    Version = table.Column<int>(type: "integer", nullable: false),
                    Json = table.Column<string>(type: "text", nullable: false, collation: "C"),
                    Hash = table.Column<byte[]>(type: "bytea", nullable: false),
                    PublishedAt = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_programs", x => x.Version);
                });

            migrationBuilder.CreateTable(
                name: "channel_identities",
                columns: table => new
                {
                    Channel = table.Column<int>(type: "integer", nullable: false),
                    ExternalId = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false, collation: "C"),
                    MemberId = table.Column<string>(type: "character varying(64)", nullable: false, collation: "C"),
                    BoundAt = table.Column<long>(type: "bigint", nullable: false),
                    BoundViaChannel = table.Column<int>(type: "integer", nullable: false),
                    BoundAtStoreId = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true, collation: "C")
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_channel_identities", x => new { x.Channel, x.ExternalId });
                    table.ForeignKey(
                        name: "FK_channel_identities_members_MemberId",
                        column: x => x.MemberId,
                        principalTable: "members",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateTable(
                name: "consents",
                columns: table => new
                {
                    Id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    MemberId = table.Column<string>(type: "character varying(64)", nullable: false, collation: "C"),
                    Purpose = table.Column<int>(type: "integer", nullable: false),
                    Granted = table.Column<bool>(type: "boolean", nullable: false),
                    Channel = table.Column<int>(type: "integer", nullable: false),
                    DecidedAt = table.Column<long>(type: "bigint", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_consents", x => x.Id);
                    table.ForeignKey(
                        name: "FK_consents_members_MemberId",
                        column: x => x.MemberId,
                        principalTable: "members",
                        principalColumn: "Id",
                        onDelete: ReferentialAction.Cascade);
                });

            migrationBuilder.CreateIndex(
                name: "IX_audit_events_ClientId_Id",
                table: "audit_events",
                columns: new[] { "ClientId", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_audit_events_MemberId_Id",
                table: "audit_events",
                columns: new[] { "MemberId", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_audit_events_OccurredAt",
                table: "audit_events",
                column: "OccurredAt");

            migrationBuilder.CreateIndex(
                name: "IX_cache_outbox_Applied",
                table: "cache_outbox",
                column: "Applied",
                filter: "NOT \"Applied\"");

            migrationBuilder.CreateIndex(
                name: "IX_channel_identities_MemberId",
                table: "channel_identities",
                column: "MemberId");

            migrationBuilder.CreateIndex(
                name: "IX_clients_KeyHash",
                table: "clients",
                column: "KeyHash",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_consents_MemberId_Purpose_Id",
                table: "consents",
                columns: new[] { "MemberId", "Purpose", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_growth_events_MemberId_OccurredAt",
                table: "growth_events",
                columns: new[] { "MemberId", "OccurredAt" });

            migrationBuilder.CreateIndex(
                name: "IX_idempotency_keys_MemberId",
                table: "idempotency_keys",
                column: "MemberId");

            migrationBuilder.CreateIndex(
                name: "IX_loyalty_accounts_AssessmentAt",
                table: "loyalty_accounts",
                column: "AssessmentAt");

            migrationBuilder.CreateIndex(
                name: "IX_loyalty_accounts_PaidExpiresAt",
                table: "loyalty_accounts",
                column: "PaidExpiresAt");

            migrationBuilder.CreateIndex(
                name: "IX_members_MergedIntoId",
                table: "members",
                column: "MergedIntoId");

            migrationBuilder.CreateIndex(
                name: "IX_members_PhoneIndex",
                table: "members",
                column: "PhoneIndex",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_merges_AbsorbedId",
                table: "merges",
                column: "AbsorbedId",
                unique: true);

            migrationBuilder.CreateIndex(
                name: "IX_merges_SurvivorId",
                table: "merges",
                column: "SurvivorId");

            migrationBuilder.CreateIndex(
                name: "IX_orders_MemberId",
                table: "orders",
                column: "MemberId");

            migrationBuilder.CreateIndex(
                name: "IX_partner_links_MemberId",
                table: "partner_links",
                column: "MemberId");

            migrationBuilder.CreateIndex(
                name: "IX_points_entries_MemberId_Id",
                table: "points_entries",
                columns: new[] { "MemberId", "Id" });

            migrationBuilder.CreateIndex(
                name: "IX_points_lots_ExpiresAt_Remaining",
                table: "points_lots",
                columns: new[] { "ExpiresAt", "Remaining" });

            migrationBuilder.CreateIndex(
                name: "IX_points_lots_MemberId_ExpiresAt",
                table: "points_lots",
                columns: new[] { "MemberId", "ExpiresAt" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "audit_events");

            migrationBuilder.DropTable(
                name: "cache_outbox");

            migrationBuilder.DropTable(
                name: "channel_identities");

            migrationBuilder.DropTable(
                name: "check_ins");

            migrationBuilder.DropTable(
                name: "clients");

            migrationBuilder.DropTable(
                name: "consents");

            migrationBuilder.DropTable(
                name: "growth_events");

            migrationBuilder.DropTable(
                name: "idempotency_keys");

            migrationBuilder.DropTable(
                name: "loyalty_accounts");

            migrationBuilder.DropTable(
                name: "merges");

            migrationBuilder.DropTable(
                name: "orders");

            migrationBuilder.DropTable(
                name: "partner_links");

            migrationBuilder.DropTable(
                name: "points_entries");

            migrationBuilder.DropTable(
                name: "points_lots");

            migrationBuilder.DropTable(
                name: "programs");

            migrationBuilder.DropTable(
                name: "members");
        }
    }
}
