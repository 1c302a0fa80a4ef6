using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Identity.Service.Storage.Migrations
{
    /// <inheritdoc />
    public partial class CompleteErasure : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "ErasureReason",
                table: "members");

            migrationBuilder.AddColumn<int>(
                name: "ErasureReasonCode",
                table: "members",
                type: "INTEGER",
                nullable: false,
                defaultValue: 0);

            migrationBuilder.AddColumn<string>(
                name: "ErasureTicketRef",
                table: "members",
                type: "TEXT",
                maxLength: 64,
                nullable: true);

            migrationBuilder.AddColumn<string>(
                name: "MemberId",
                table: "idempotency_keys",
                type: "TEXT",
                maxLength: 64,
                nullable: true);

            migrationBuilder.CreateIndex(
                name: "IX_idempotency_keys_MemberId",
                table: "idempotency_keys",
                column: "MemberId");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_idempotency_keys_MemberId",
                table: "idempotency_keys");

            migrationBuilder.DropColumn(
                name: "ErasureReasonCode",
                table: "members");

            migrationBuilder.DropColumn(
                name: "ErasureTicketRef",
                table: "members");

            migrationBuilder.DropColumn(
                name: "MemberId",
                table: "idempotency_keys");

            migrationBuilder.AddColumn<string>(
                name: "ErasureReason",
                table: "members",
                type: "TEXT",
                maxLength: 256,
                nullable: true);
        }
    }
}
