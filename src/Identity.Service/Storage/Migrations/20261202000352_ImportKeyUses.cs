using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Identity.Service.Storage.Migrations
{
    /// <inheritdoc />
    public partial class ImportKeyUses : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "import_key_uses",
                columns: table => new
                {
                    ImportId = table.Column<string>(type: "TEXT", maxLength: 64, nullable: false),
                    SourceRowKey = table.Column<string>(type: "TEXT", maxLength: 128, nullable: false),
                    RowNumber = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_import_key_uses", x => new { x.ImportId, x.SourceRowKey });
                });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "import_key_uses");
        }
    }
}
