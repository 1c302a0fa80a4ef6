using System.CommandLine;
using System.CommandLine.Parsing;
using Identity.V1;

namespace Identity.Cli.Commands;

/// <summary>
/// <c>--phone P | --member-id M | --channel C --external-id X</c>: names one member (exactly one key), as ResolveMember
/// and every loyalty call take it.
/// </summary>
/// <remarks>
/// On commands that have a channel of their own (the channel of the order, the quote, the check-in), that command's
/// <c>--channel</c> also names the channel of <c>--external-id</c>, unless <c>--identity-channel</c> says otherwise
/// (a WeChat openid at a POS till: <c>--channel pos --identity-channel wechat_mini_program --external-id o…</c>).
/// </remarks>
internal sealed class MemberKeyOptions
{
    private const string OwnChannelHelp = "Channel of the identity";

    private readonly Option<string> phone = CliOptions.Text("--phone", "Phone number, in any written form", "phone");
    private readonly Option<Channel> channel;
    private readonly Option<string> externalId = CliOptions.Text("--external-id", "Id in that channel (openid, POS card number, buyer id)", "id");
    private readonly Option<string> memberId = CliOptions.Text("--member-id", "Member id, current or merged", "id");
    private readonly Option<Channel>? identityChannel;

    private MemberKeyOptions(Option<Channel> channel, Option<Channel>? identityChannel)
    {
        this.channel = channel;
        this.identityChannel = identityChannel;
    }

    /// <summary>The command has no channel of its own: <c>--channel</c> is the identity's.</summary>
    public static MemberKeyOptions WithOwnChannel() => new(CliOptions.Channel("--channel", OwnChannelHelp), null);

    /// <summary>
    /// <paramref name="callChannel"/> (the command's <c>--channel</c>) is the channel of the call; it names the identity's
    /// channel too unless <c>--identity-channel</c> is given.
    /// </summary>
    public static MemberKeyOptions SharingChannel(Option<Channel> callChannel) => new(
        callChannel,
        CliOptions.Channel("--identity-channel", "Channel of --external-id when it differs from --channel, named as for --channel", listNames: false));

    /// <summary>Adds the key options, and the channel option it was given.</summary>
    public void AddTo(Command command)
    {
        command.Options.Add(phone);
        command.Options.Add(channel);
        command.Options.Add(externalId);
        command.Options.Add(memberId);
        if (identityChannel is not null)
        {
            command.Options.Add(identityChannel);
        }
        command.Validators.Add(Validate);
    }

    private void Validate(CommandResult result)
    {
        if (identityChannel is null)
        {
            var keys = (result.IsGiven(phone) ? 1 : 0) + (result.IsGiven(channel) || result.IsGiven(externalId) ? 1 : 0) + (result.IsGiven(memberId) ? 1 : 0);
            if (keys != 1)
            {
                result.AddError("give exactly one of --phone, --channel with --external-id, or --member-id");
            }
            else if (result.IsGiven(channel) != result.IsGiven(externalId))
            {
                result.AddError("--channel and --external-id go together");
            }
            return;
        }

        var given = (result.IsGiven(phone) ? 1 : 0) + (result.IsGiven(externalId) ? 1 : 0) + (result.IsGiven(memberId) ? 1 : 0);
        if (given != 1)
        {
            result.AddError("give exactly one of --phone, --external-id (its channel from --channel or --identity-channel), or --member-id");
            return;
        }
        if (result.IsGiven(identityChannel) && !result.IsGiven(externalId))
        {
            result.AddError("--identity-channel goes with --external-id");
        }
        else if (result.IsGiven(externalId) && !result.IsGiven(identityChannel) && !result.IsGiven(channel))
        {
            result.AddError("--external-id needs its channel: give --channel or --identity-channel");
        }
    }

    public MemberKey Read(ParseResult parse)
    {
        if (parse.GetValue(phone) is { } byPhone)
        {
            return new MemberKey { Phone = byPhone };
        }
        if (parse.GetValue(memberId) is { } byId)
        {
            return new MemberKey { MemberId = byId };
        }
        return new MemberKey
        {
            ChannelIdentity = new ChannelIdentity
            {
                Channel = identityChannel is not null && parse.IsGiven(identityChannel) ? parse.GetValue(identityChannel) : parse.GetValue(channel),
                ExternalId = parse.GetValue(externalId) ?? "",
            },
        };
    }
}
