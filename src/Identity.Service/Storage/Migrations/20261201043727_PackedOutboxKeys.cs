using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Identity.Service.Storage.Migrations
{
    /// <inheritdoc />
    public partial class PackedOutboxKeys : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {

        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {

        }
    }
}
