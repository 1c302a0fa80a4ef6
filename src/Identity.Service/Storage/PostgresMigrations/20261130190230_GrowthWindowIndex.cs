using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Identity.Service.Storage.PostgresMigrations
{
    /// <inheritdoc />
    public partial class GrowthWindowIndex : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_growth_events_MemberId_OccurredAt",
                table: "growth_events");

            migrationBuilder.CreateIndex(
                name: "IX_growth_events_MemberId_OccurredAt_Amount",
                table: "growth_events",
                columns: new[] { "MemberId", "OccurredAt", "Amount" });
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropIndex(
                name: "IX_growth_events_MemberId_OccurredAt_Amount",
                table: "growth_events");

            migrationBuilder.CreateIndex(
                name: "IX_growth_events_MemberId_OccurredAt",
                table: "growth_events",
                columns: new[] { "MemberId", "OccurredAt" });
        }
    }
}
