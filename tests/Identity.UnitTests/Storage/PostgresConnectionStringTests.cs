using Identity.Service.Storage;
using Npgsql;

namespace Identity.UnitTests.Storage;

/// <summary>
/// The operator's PostgreSQL connection string is used as given, with automatic preparation on and no reset on return to
/// the pool unless it says otherwise.
/// </summary>
public sealed class PostgresConnectionStringTests
{
    [Fact]
    public void Statements_are_prepared_automatically_unless_the_operator_chose()
    {
        var defaulted = new NpgsqlConnectionStringBuilder(StoreConfiguration.PostgresConnectionString("Host=db;Database=identity;Maximum Pool Size=40"));
        Assert.Equal(StoreConfiguration.DefaultMaxAutoPrepare, defaulted.MaxAutoPrepare);
        Assert.Equal("db", defaulted.Host);
        Assert.Equal(40, defaulted.MaxPoolSize);

        var off = new NpgsqlConnectionStringBuilder(StoreConfiguration.PostgresConnectionString("Host=db;Max Auto Prepare=0"));
        Assert.Equal(0, off.MaxAutoPrepare);
        var chosen = new NpgsqlConnectionStringBuilder(StoreConfiguration.PostgresConnectionString("Host=db;MaxAutoPrepare=8"));
        Assert.Equal(8, chosen.MaxAutoPrepare);
    }

    [Fact]
    public void Pooled_connections_are_not_reset_unless_the_operator_chose()
    {
        Assert.True(new NpgsqlConnectionStringBuilder(StoreConfiguration.PostgresConnectionString("Host=db")).NoResetOnClose);
        Assert.False(new NpgsqlConnectionStringBuilder(StoreConfiguration.PostgresConnectionString("Host=db;No Reset On Close=false")).NoResetOnClose);
        Assert.False(new NpgsqlConnectionStringBuilder(StoreConfiguration.PostgresConnectionString("Host=db;NoResetOnClose=false")).NoResetOnClose);
    }
}
