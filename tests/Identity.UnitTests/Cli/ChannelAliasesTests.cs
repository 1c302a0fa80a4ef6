extern alias cli;
using cli::Identity.Cli.Commands;
using cli::Identity.Cli.Import;
using Channel = cli::Identity.V1.Channel;

namespace Identity.UnitTests.Cli;

public sealed class ChannelAliasesTests
{
    [Theory]
    [InlineData("pos", Channel.Pos)]
    [InlineData("wechat_mini_program", Channel.WechatMiniProgram)]
    [InlineData("wechat-mini-program", Channel.WechatMiniProgram)]
    [InlineData("miniprogram", Channel.WechatMiniProgram)]
    [InlineData("MiniProgram", Channel.WechatMiniProgram)]
    [InlineData("official_account", Channel.WechatOfficialAccount)]
    [InlineData("wechat_official_account", Channel.WechatOfficialAccount)]
    [InlineData("wecom", Channel.Wecom)]
    [InlineData("union", Channel.WechatUnion)]
    [InlineData("app", Channel.App)]
    [InlineData("tmall", Channel.Tmall)]
    [InlineData("jd", Channel.Jd)]
    [InlineData("douyin", Channel.Douyin)]
    [InlineData("partner", Channel.Partner)]
    [InlineData("crm", Channel.CrmImport)]
    [InlineData("crm_import", Channel.CrmImport)]
    [InlineData(" tmall ", Channel.Tmall)]
    [InlineData("", Channel.Unspecified)]
    public void Built_in_names_and_short_names_are_channels(string value, Channel channel)
    {
        Assert.True(new ChannelAliases([]).TryParse(value, out var parsed));
        Assert.Equal(channel, parsed);
    }

    [Fact]
    public void An_export_s_own_values_map_through_channel_aliases()
    {
        var aliases = new ChannelAliases(["小程序=wechat_mini_program", "天猫=tmall", "mp=miniprogram"]);

        Assert.True(aliases.TryParse("小程序", out var mini));
        Assert.True(aliases.TryParse("天猫", out var tmall));
        Assert.True(aliases.TryParse("MP", out var mp));
        Assert.Equal(Channel.WechatMiniProgram, mini);
        Assert.Equal(Channel.Tmall, tmall);
        Assert.Equal(Channel.WechatMiniProgram, mp);
    }

    [Theory]
    [InlineData("weibo")]
    [InlineData("unspecified")]
    [InlineData("1")]
    public void An_unknown_value_is_not_a_channel(string value)
    {
        Assert.False(new ChannelAliases([]).TryParse(value, out _));
    }

    [Theory]
    [InlineData("小程序=weibo", "unknown channel 'weibo'")]
    [InlineData("小程序", "is not value=channel")]
    public void A_bad_alias_is_a_usage_error(string alias, string message)
    {
        var error = Assert.Throws<UsageException>(() => new ChannelAliases([alias]));

        Assert.Contains(message, error.Message);
    }
}
