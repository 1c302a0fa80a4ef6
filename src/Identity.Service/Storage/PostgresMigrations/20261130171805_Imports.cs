using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Identity.Service.Storage.PostgresMigrations
{
    /// <inheritdoc />
    public partial class Imports : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "import_keys",
                columns: table => new
                {
                    Source = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false, collation: "C"),
                    SourceRowKey = table.Column<string>(type: "character varying(128)", maxLength: 128, nullable: false, collation: "C"),
                    ImportId = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false, collation: "C"),
                    RowNumber = table.Column<long>(type: "bigint", nullable: false),
                    RowHash = table.Column<byte[]>(type: "bytea", nullable: false),
                    MemberId = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true, collation: "C")
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_import_keys", x => new { x.Source, x.SourceRowKey });
                });

            migrationBuilder.CreateTable(
                name: "import_rows",
                columns: table => new
                {
                    ImportId = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false, collation: "C"),
                    RowNumber = table.Column<long>(type: "bigint", nullable: false),
                    Acceptance = table.Column<int>(type: "integer", nullable: false),
                    MemberId = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true, collation: "C"),
                    Reason = table.Column<string>(type: "text", nullable: true, collation: "C"),
                    Field = table.Column<string>(type: "text", nullable: true, collation: "C"),
                    Detail = table.Column<string>(type: "text", nullable: true, collation: "C"),
                    OwnerMemberId = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: true, collation: "C")
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_import_rows", x => new { x.ImportId, x.RowNumber });
                });

            migrationBuilder.CreateTable(
                name: "imports",
                columns: table => new
                {
                    Id = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false, collation: "C"),
                    Source = table.Column<string>(type: "character varying(64)", maxLength: 64, nullable: false, collation: "C"),
                    PointsExpiry = table.Column<int>(type: "integer", nullable: false),
                    StartedAt = table.Column<long>(type: "bigint", nullable: false),
                    UpdatedAt = table.Column<long>(type: "bigint", nullable: false),
                    Rows = table.Column<long>(type: "bigint", nullable: false),
                    Created = table.Column<long>(type: "bigint", nullable: false),
                    Merged = table.Column<long>(type: "bigint", nullable: false),
                    AlreadyImported = table.Column<long>(type: "bigint", nullable: false),
                    Rejected = table.Column<long>(type: "bigint", nullable: false),
                    PointsMigrated = table.Column<long>(type: "bigint", nullable: false),
                    RejectedByReason = table.Column<string>(type: "text", nullable: false, collation: "C")
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_imports", x => x.Id);
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "import_keys");

            migrationBuilder.DropTable(
                name: "import_rows");

            migrationBuilder.DropTable(
                name: "imports");
        }
    }
}
