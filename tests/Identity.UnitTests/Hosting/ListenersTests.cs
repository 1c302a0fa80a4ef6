using Identity.Service.Hosting;
using Microsoft.Extensions.Configuration;

namespace Identity.UnitTests.Hosting;

/// <summary>The three endpoints' addresses from configuration, and the older <c>Urls</c> setting's meaning.</summary>
public sealed class ListenersTests
{
    static ConfigurationManager Apply(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationManager();
        configuration.AddInMemoryCollection(settings.Select(s => KeyValuePair.Create(s.Key, (string?)s.Value)));
        Listeners.ApplyDefaults(configuration);
        return configuration;
    }

    [Fact]
    public void With_no_settings_the_three_endpoints_take_their_loopback_defaults_and_protocols()
    {
        var configuration = Apply();
        Assert.Equal("http://127.0.0.1:5100", configuration["Kestrel:Endpoints:Grpc:Url"]);
        Assert.Equal("http://127.0.0.1:5101", configuration["Kestrel:Endpoints:Http:Url"]);
        Assert.Equal("http://127.0.0.1:5102", configuration["Kestrel:Endpoints:Management:Url"]);
        Assert.Equal("Http2", configuration["Kestrel:Endpoints:Grpc:Protocols"]);
        Assert.Equal("Http1", configuration["Kestrel:Endpoints:Http:Protocols"]);
        Assert.Equal("Http1", configuration["Kestrel:Endpoints:Management:Protocols"]);
    }

    [Fact]
    public void Urls_as_before_is_the_grpc_endpoint_and_is_then_consumed()
    {
        var configuration = Apply(("urls", "http://+:6000"));
        Assert.Equal("http://+:6000", configuration["Kestrel:Endpoints:Grpc:Url"]);
        Assert.Equal("http://127.0.0.1:5101", configuration["Kestrel:Endpoints:Http:Url"]);
        Assert.Equal(";", configuration["urls"]); // no address left for the host to bind besides the named endpoints
    }

    [Fact]
    public void A_named_endpoint_setting_wins_over_urls_and_over_the_defaults()
    {
        var configuration = Apply(("urls", "http://127.0.0.1:6000"), ("Kestrel:Endpoints:Grpc:Url", "http://0.0.0.0:7000"),
            ("Kestrel:Endpoints:Management:Url", "http://0.0.0.0:7002"), ("Kestrel:Endpoints:Http:Protocols", "Http1AndHttp2"));
        Assert.Equal("http://0.0.0.0:7000", configuration["Kestrel:Endpoints:Grpc:Url"]);
        Assert.Equal("http://0.0.0.0:7002", configuration["Kestrel:Endpoints:Management:Url"]);
        Assert.Equal("Http1AndHttp2", configuration["Kestrel:Endpoints:Http:Protocols"]);
    }

    [Fact]
    public void Several_urls_or_an_unknown_endpoint_name_stop_the_start_with_a_clear_error()
    {
        var several = Assert.Throws<InvalidOperationException>(() => Apply(("urls", "http://127.0.0.1:1;http://127.0.0.1:2")));
        Assert.Contains("one address", several.Message, StringComparison.Ordinal);
        var unknown = Assert.Throws<InvalidOperationException>(() => Apply(("Kestrel:Endpoints:Admin:Url", "http://127.0.0.1:1")));
        Assert.Contains("'Admin'", unknown.Message, StringComparison.Ordinal);
    }
}
