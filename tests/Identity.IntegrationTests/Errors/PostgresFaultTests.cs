using Google.Rpc;
using Grpc.Core;
using Npgsql;

namespace Identity.IntegrationTests.Errors;

/// <summary>
/// On PostgreSQL, a database that refuses or drops the service's connections is UNAVAILABLE with RetryInfo
/// (STORE_BUSY), never INTERNAL; nothing is half-written, and writes work again by themselves once connections are
/// allowed.
/// </summary>
public sealed class PostgresFaultTests
{
    [PostgresFact]
    public async Task Connections_refused_and_dropped_are_store_busy_and_writes_resume_when_they_are_allowed()
    {
        // The service connects as a role of its own, whose connection limit the test can take to zero.
        var role = "svc_" + Guid.NewGuid().ToString("N")[..12];
        var database = "f_" + Guid.NewGuid().ToString("N")[..12];
        var cluster = PostgresCluster.Shared;
        await AdminAsync($"CREATE ROLE {role} LOGIN", $"CREATE DATABASE {database} OWNER {role}");
        var connection = $"Host=127.0.0.1;Port={cluster.Port};Username={role};Database={database};Maximum Pool Size=10;Timeout=5";
        await using var server = await IdentityServer.StartAsync(null, $"--Identity:Store:ConnectionString={connection}");
        try
        {
            var known = TestData.Phone();
            await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(known));
            var before = server.Count("members");

            // No new connection is allowed, and the open ones are cut (57P01 on the next use, then 53300 on reconnect).
            await AdminAsync($"ALTER ROLE {role} CONNECTION LIMIT 0",
                $"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'");
            var refused = TestData.Phone();
            for (var i = 0; i < 3; i++)
            {
                var error = await Rpc.FailsWith(StatusCode.Unavailable, server.Members.EnrollMemberAsync(TestData.EnrollAtPos(refused)));
                Assert.Equal("STORE_BUSY", error.Reason());
                Assert.True(error.GetRpcStatus()?.GetDetail<RetryInfo>()?.RetryDelay.ToTimeSpan() > TimeSpan.Zero);
            }
            // A read that needs the store is refused the same way (the caches stop answering once the outbox cannot be read).
            var read = await Rpc.FailsWith(StatusCode.Unavailable, server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = TestData.Phone() }));
            Assert.Equal("STORE_BUSY", read.Reason());

            await AdminAsync($"ALTER ROLE {role} CONNECTION LIMIT -1");
            Assert.Equal(before, server.Count("members"));
            Assert.True((await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(refused))).Created);
            Assert.Equal(before + 1, server.Count("members"));
            Assert.DoesNotContain(server.Logs.Lines, l => l.StartsWith("Error ", StringComparison.Ordinal) && l.Contains("Grpc", StringComparison.Ordinal));
        }
        finally
        {
            await AdminAsync($"ALTER ROLE {role} CONNECTION LIMIT -1");
        }
    }

    static async Task AdminAsync(params string[] statements)
    {
        await using var connection = new NpgsqlConnection(PostgresCluster.Shared.ConnectionString("postgres", 2));
        await connection.OpenAsync();
        foreach (var sql in statements)
        {
            await using var command = new NpgsqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync();
        }
    }
}
