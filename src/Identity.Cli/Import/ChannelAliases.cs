using Identity.Cli.Commands;
using Identity.V1;

namespace Identity.Cli.Import;

/// <summary>
/// The values a channel column may hold: the channel's command-line name (<c>wechat_mini_program</c>, <c>crm_import</c>),
/// the short names legacy systems use (<c>miniprogram</c>, <c>official_account</c>, <c>union</c>, <c>crm</c>), and the
/// caller's own aliases (<c>--channel-alias 小程序=wechat_mini_program</c>). Case and hyphens do not matter.
/// </summary>
internal sealed class ChannelAliases
{
    private static readonly (string Alias, Channel Channel)[] BuiltIn =
    [
        ("miniprogram", Channel.WechatMiniProgram),
        ("mini_program", Channel.WechatMiniProgram),
        ("official_account", Channel.WechatOfficialAccount),
        ("union", Channel.WechatUnion),
        ("unionid", Channel.WechatUnion),
        ("crm", Channel.CrmImport),
    ];

    private readonly Dictionary<string, Channel> byAlias = new(StringComparer.OrdinalIgnoreCase);

    public ChannelAliases(IEnumerable<string> userAliases)
    {
        foreach (var name in ProtoNames.Channel.Names)
        {
            ProtoNames.Channel.TryParse(name, out var channel);
            byAlias[name] = channel;
        }
        foreach (var (alias, channel) in BuiltIn)
            byAlias[alias] = channel;
        foreach (var entry in userAliases)
        {
            var equals = entry.IndexOf('=', StringComparison.Ordinal);
            var alias = equals > 0 ? Normalise(entry[..equals]) : "";
            var target = equals > 0 ? entry[(equals + 1)..].Trim() : "";
            if (alias.Length == 0 || target.Length == 0)
                throw new UsageException($"--channel-alias '{entry}' is not value=channel");
            if (!byAlias.TryGetValue(Normalise(target), out var channel))
                throw new UsageException($"--channel-alias {entry}: unknown channel '{target}'; expected one of {string.Join(", ", ProtoNames.Channel.Names)}");
            byAlias[alias] = channel;
        }
    }

    /// <summary>An empty value is <see cref="Channel.Unspecified"/> (the server's default for the row); an unknown one is false.</summary>
    public bool TryParse(string value, out Channel channel)
    {
        var key = Normalise(value);
        if (key.Length == 0)
        {
            channel = Channel.Unspecified;
            return true;
        }
        return byAlias.TryGetValue(key, out channel);
    }

    private static string Normalise(string value) => value.Trim().Replace('-', '_');
}
