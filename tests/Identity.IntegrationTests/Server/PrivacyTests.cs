using System.Text;
using Grpc.Core;

namespace Identity.IntegrationTests.Server;

/// <summary>Phones never reach the disk or the logs in the clear.</summary>
public sealed class PrivacyTests : IAsyncLifetime
{
    IdentityServer server = null!;

    public async Task InitializeAsync() => server = await IdentityServer.StartAsync();

    public async Task DisposeAsync() => await server.DisposeAsync();

    [Fact]
    public async Task Neither_the_database_files_nor_the_logs_contain_a_members_phone()
    {
        var phones = Enumerable.Range(0, 10).Select(_ => TestData.Phone()).ToList();
        foreach (var phone in phones)
        {
            var enrolled = await server.Members.EnrollMemberAsync(new EnrollMemberRequest
            {
                Phone = TestData.CrmForm(phone), ChannelIdentity = TestData.MiniProgram(TestData.OpenId()), Source = TestData.Pos(),
            });
            await server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phone });
            await server.Members.UpdateProfileAsync(new UpdateProfileRequest { MemberId = enrolled.Member.MemberId, Profile = new Profile { Name = "隐私" } });
        }
        var changed = TestData.Phone();
        var first = await server.Members.ResolveMemberAsync(new ResolveMemberRequest { Phone = phones[0] });
        await server.Members.ChangePhoneAsync(new ChangePhoneRequest { MemberId = first.Member.MemberId, NewPhone = changed });
        phones.Add(changed);
        // Failures log too: a phone in a rejected request must not leak either.
        var taken = phones[1];
        await Assert.ThrowsAsync<RpcException>(() => server.Members.ChangePhoneAsync(new ChangePhoneRequest { MemberId = first.Member.MemberId, NewPhone = taken }).ResponseAsync);

        // SQLite: the database files (the WAL is scanned when it exists; SQLite removes it when the last pooled connection
        // closes). PostgreSQL: every row of every table.
        var stored = server.StoredContents();
        Assert.Contains(stored, f => f.Where is "identity.db" or "members");
        var bytes = stored.Select(f => f.Bytes).ToList();
        foreach (var phone in phones)
        {
            foreach (var content in bytes)
            {
                Assert.Equal(-1, content.AsSpan().IndexOf(Encoding.ASCII.GetBytes(phone)));
                Assert.Equal(-1, content.AsSpan().IndexOf(Encoding.Unicode.GetBytes(phone)));
            }
            Assert.DoesNotContain(phone, server.Logs.AllText);
        }
        // The logs do say what happened, with masked phones.
        Assert.Contains(TestData.Masked(phones[2]), server.Logs.AllText);
    }

    [Fact]
    public void The_development_key_file_is_readable_by_its_owner_only()
    {
        // On PostgreSQL the keys must be configured (instances share them); the development key file is SQLite's.
        if (TestStore.IsPostgres)
        {
            Assert.False(File.Exists(Path.Combine(server.DataDirectory, "phone-keys.json")));
            return;
        }
        DevelopmentKeyFileIsOwnerOnly();
    }

    void DevelopmentKeyFileIsOwnerOnly()
    {
        var keyFile = Path.Combine(server.DataDirectory, "phone-keys.json");
        Assert.True(File.Exists(keyFile));
        if (!OperatingSystem.IsWindows())
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        Assert.Contains(server.Logs.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal) && l.Contains("development", StringComparison.Ordinal));
    }
}
