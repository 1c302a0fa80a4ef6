using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Identity.Service.Storage.Migrations
{
    /// <inheritdoc />
    public partial class InitialCreate : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "members",
                columns: table => new
                {
                    Id = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    State = table.Column<int>(type: "INTEGER", nullable: false),
                    PhoneCiphertext = table.Column<byte[]>(type: "BLOB", nullable: true),
                    PhoneIndex = table.Column<byte[]>(type: "BLOB", nullable: true),
                    Name = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    Gender = table.Column<int>(type: "INTEGER", nullable: false),
                    Birthday = table.Column<string>(type: "TEXT", maxLength: 10, nullable: true),
                    EnrolledChannel = table.Column<int>(type: "INTEGER", nullable: false),
                    EnrolledStoreId = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    EnrolledGuideId = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true),
                    CreatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    UpdatedAt = table.Column<long>(type: "INTEGER", nullable: false),
                    Version = table.Column<long>(type: "INTEGER", nullable: false),
                    MergedIntoId = table.Column<string>(type: "TEXT", nullable: true),
                    ErasedAt = table.Column<long>(type: "INTEGER", nullable: true),
                    ErasureReason = table.Column<string>(type: "TEXT", maxLength: 256, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_members", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "merges",
                columns: table => new
                {
                    Id = table.Column<string>(type: "TEXT", nullable: false),
                    SurvivorId = table.Column<string>(type: "TEXT", nullable: false),
                    AbsorbedId = table.Column<string>(type: "TEXT", nullable: false),
                    Kind = table.Column<int>(type: "INTEGER", nullable: false),
                    Reason = table.Column<string>(type: "TEXT", maxLength: 256, nullable: false),
                    Actor = table.Column<string>(type: "TEXT", nullable: false),
                    MovedIdentities = table.Column<string>(type: "TEXT", nullable: false),
                    FilledFields = table.Column<string>(type: "TEXT", nullable: false),
                    MergedAt = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_merges", x => x.Id);
                });

            migrationBuilder.CreateTable(
                name: "channel_identities",
                columns: table => new
                {
                    Channel = table.Column<int>(type: "INTEGER", nullable: false),
                    ExternalId = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    MemberId = table.Column<string>(type: "TEXT", nullable: false),
                    BoundAt = table.Column<long>(type: "INTEGER", nullable: false),
                    BoundViaChannel = table.Column<int>(type: "INTEGER", nullable: false),
                    BoundAtStoreId = table.Column<string>(type: "TEXT", maxLength: 64, nullable: true)
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

            migrationBuilder.CreateIndex(
                name: "IX_channel_identities_MemberId",
                table: "channel_identities",
                column: "MemberId");

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
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "channel_identities");

            migrationBuilder.DropTable(
                name: "merges");

            migrationBuilder.DropTable(
                name: "members");
        }
    }
}
