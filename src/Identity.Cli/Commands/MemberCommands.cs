using System.CommandLine;
using System.CommandLine.Parsing;
using Google.Protobuf.WellKnownTypes;
using Identity.V1;

namespace Identity.Cli.Commands;

/// <summary>One command per MemberService RPC.</summary>
internal static class MemberCommands
{
    private const string ChannelHelp = "Channel of the identity";

    public static IEnumerable<Command> Create(GlobalOptions globals)
    {
        var action = new RpcAction(globals);
        yield return Enroll(action);
        yield return Resolve(action);
        yield return Bind(action);
        yield return UpdateProfile(action);
        yield return ChangePhone(action);
        yield return Merge(action);
        yield return History(action);
        yield return Erase(action);
        yield return Consent(action);
    }

    private static Command Enroll(RpcAction action)
    {
        var phone = CliOptions.Text("--phone", "Phone number, in any written form", "phone");
        var identity = new IdentityOptions(required: false);
        var profile = new ProfileOptions();
        var source = new SourceOptions("Channel where the enrolment happened, named as for --channel (default: the identity's channel, else pos)");
        var command = new Command("enroll", "Enrol a member by phone and/or channel identity, or return the existing one");
        command.Options.Add(phone);
        identity.AddTo(command);
        profile.AddTo(command);
        source.AddTo(command);
        command.Validators.Add(result =>
        {
            if (!result.IsGiven(phone) && !identity.IsGiven(result))
            {
                result.AddError("give --phone, or --channel with --external-id, or both");
            }
            identity.Validate(result);
        });

        action.Set(command, (parse, client, options) =>
        {
            var request = new EnrollMemberRequest
            {
                ChannelIdentity = identity.Read(parse),
                Profile = profile.Read(parse),
                Source = source.Read(parse, identity.ChannelOf(parse) ?? Channel.Pos),
            };
            // proto3 optional: leave phone unset (not empty) when enrolling by channel identity alone.
            if (parse.GetValue(phone) is { } given)
            {
                request.Phone = given;
            }
            return client.EnrollMemberAsync(request, options);
        }, (printer, response) => printer.Enrolled(response));
        return command;
    }

    private static Command Resolve(RpcAction action)
    {
        var member = MemberKeyOptions.WithOwnChannel();
        var benefitsChannel = CliOptions.Channel("--benefits-channel", "Also quote the member's benefits in this channel, named as for --channel", listNames: false);
        var store = CliOptions.Text("--store", "Store of the benefit quote (with --benefits-channel)", "id");
        var command = new Command("resolve", "Find a member by phone, channel identity or member id");
        member.AddTo(command);
        command.Options.Add(benefitsChannel);
        command.Options.Add(store);
        command.Validators.Add(result =>
        {
            if (result.IsGiven(store) && !result.IsGiven(benefitsChannel))
            {
                result.AddError("--store goes with --benefits-channel");
            }
        });

        action.Set(command, (parse, client, options) =>
        {
            var key = member.Read(parse);
            var request = new ResolveMemberRequest();
            switch (key.KeyCase)
            {
                case MemberKey.KeyOneofCase.Phone:
                    request.Phone = key.Phone;
                    break;
                case MemberKey.KeyOneofCase.MemberId:
                    request.MemberId = key.MemberId;
                    break;
                default:
                    request.ChannelIdentity = key.ChannelIdentity;
                    break;
            }
            if (parse.IsGiven(benefitsChannel))
            {
                request.BenefitContext = new BenefitContext
                {
                    Channel = parse.GetValue(benefitsChannel),
                    StoreId = parse.GetValue(store) ?? "",
                };
            }
            return client.ResolveMemberAsync(request, options);
        }, (printer, response) => printer.Resolved(response));
        return command;
    }

    private static Command Bind(RpcAction action)
    {
        var memberId = CliOptions.Text("--member-id", "Member to bind to", "id", required: true);
        var identity = new IdentityOptions(required: true);
        var source = new SourceOptions("Channel where the binding happened, named as for --channel (default: the identity's channel)");
        var command = new Command("bind", "Bind a channel identity to a member");
        command.Options.Add(memberId);
        identity.AddTo(command);
        source.AddTo(command);

        action.Set(command, (parse, client, options) =>
        {
            var request = new BindChannelIdentityRequest
            {
                MemberId = parse.GetRequiredValue(memberId),
                ChannelIdentity = identity.Read(parse),
                Source = source.Read(parse, identity.ChannelOf(parse) ?? Channel.Unspecified),
            };
            return client.BindChannelIdentityAsync(request, options);
        }, (printer, response) => printer.Bound(response));
        return command;
    }

    private static Command UpdateProfile(RpcAction action)
    {
        var memberId = CliOptions.Text("--member-id", "Member to update", "id", required: true);
        var profile = new ProfileOptions();
        var command = new Command("update-profile", "Set the given profile fields (only those given)");
        command.Options.Add(memberId);
        profile.AddTo(command);
        command.Validators.Add(result =>
        {
            if (profile.GivenPaths(result).Count == 0)
            {
                result.AddError("give at least one of --name, --gender, --birthday");
            }
        });

        action.Set(command, (parse, client, options) =>
        {
            var request = new UpdateProfileRequest
            {
                MemberId = parse.GetRequiredValue(memberId),
                Profile = profile.Read(parse),
                UpdateMask = new FieldMask { Paths = { profile.GivenPaths(parse.CommandResult) } },
            };
            return client.UpdateProfileAsync(request, options);
        }, (printer, response) => printer.Member(response.Member));
        return command;
    }

    private static Command ChangePhone(RpcAction action)
    {
        var memberId = CliOptions.Text("--member-id", "Member whose phone changes", "id", required: true);
        var phone = CliOptions.Text("--phone", "New phone number, in any written form", "phone", required: true);
        var command = new Command("change-phone", "Move a member to a new phone number");
        command.Options.Add(memberId);
        command.Options.Add(phone);

        action.Set(command, (parse, client, options) => client.ChangePhoneAsync(new ChangePhoneRequest
        {
            MemberId = parse.GetRequiredValue(memberId),
            NewPhone = parse.GetRequiredValue(phone),
        }, options), (printer, response) => printer.Member(response.Member));
        return command;
    }

    private static Command Merge(RpcAction action)
    {
        var survivor = CliOptions.Text("--survivor", "Member that remains and keeps its phone", "id", required: true);
        var absorbed = CliOptions.Text("--absorbed", "Member to absorb into the survivor", "id", required: true);
        var reason = CliOptions.Text("--reason", "Why, for the audit record", "text", required: true);
        var @operator = CliOptions.Text("--operator", "Who asks, for the audit record", "name", required: true);
        var command = new Command("merge", "Merge one member into another (operator merge)");
        command.Options.Add(survivor);
        command.Options.Add(absorbed);
        command.Options.Add(reason);
        command.Options.Add(@operator);

        action.Set(command, (parse, client, options) => client.MergeMembersAsync(new MergeMembersRequest
        {
            SurvivorMemberId = parse.GetRequiredValue(survivor),
            AbsorbedMemberId = parse.GetRequiredValue(absorbed),
            Reason = parse.GetRequiredValue(reason),
            Operator = parse.GetRequiredValue(@operator),
        }, options), (printer, response) => printer.Merged(response));
        return command;
    }

    private static Command History(RpcAction action)
    {
        var memberId = CliOptions.Text("--member-id", "Member id, current or merged", "id", required: true);
        var command = new Command("history", "List the merges a member took part in, newest first");
        command.Options.Add(memberId);

        action.Set(command, (parse, client, options) => client.GetMergeHistoryAsync(new GetMergeHistoryRequest
        {
            MemberId = parse.GetRequiredValue(memberId),
        }, options), (printer, response) => printer.History(response));
        return command;
    }

    private static Command Erase(RpcAction action)
    {
        var memberId = CliOptions.Text("--member-id", "Member to erase", "id", required: true);
        var reason = CliOptions.ErasureReason("--reason", "Why (a code; no free text is stored)", required: true);
        var ticket = CliOptions.Text("--ticket", "The deletion request's ticket reference: up to 64 of A-Z a-z 0-9 - _", "ref");
        var command = new Command("erase", "Erase a member completely (PIPL art. 47); the ledger stays only under an anonymous tombstone");
        command.Options.Add(memberId);
        command.Options.Add(reason);
        command.Options.Add(ticket);

        action.Set(command, (parse, client, options) => client.EraseMemberAsync(new EraseMemberRequest
        {
            MemberId = parse.GetRequiredValue(memberId),
            ReasonCode = parse.GetValue(reason),
            TicketRef = parse.GetValue(ticket) ?? "",
        }, options), (printer, response) => printer.Erased(response));
        return command;
    }

    private static Command Consent(RpcAction action)
    {
        var memberId = CliOptions.Text("--member-id", "The member who decided", "id", required: true);
        var purpose = CliOptions.ConsentPurpose("--purpose", "What the consent is for", required: true);
        var grant = new Option<bool>("--grant") { Description = "The member consents" };
        var withdraw = new Option<bool>("--withdraw") { Description = "The member withdraws consent" };
        var channel = CliOptions.Channel("--channel", "Channel where the member decided", required: true);
        var command = new Command("consent", "Record a member's consent decision for a purpose (PIPL: partner sharing needs its own consent)");
        command.Options.Add(memberId);
        command.Options.Add(purpose);
        command.Options.Add(grant);
        command.Options.Add(withdraw);
        command.Options.Add(channel);
        command.Validators.Add(result =>
        {
            if (result.GetValue(grant) == result.GetValue(withdraw))
            {
                result.AddError("give exactly one of --grant or --withdraw");
            }
        });

        action.Set(command, (parse, client, options) => client.SetConsentAsync(new SetConsentRequest
        {
            MemberId = parse.GetRequiredValue(memberId),
            Purpose = parse.GetValue(purpose),
            Granted = parse.GetValue(grant),
            Channel = parse.GetValue(channel),
        }, options), (printer, response) => printer.Member(response.Member));
        return command;
    }

    /// <summary><c>--channel --external-id [--union-id]</c>: a channel identity.</summary>
    private sealed class IdentityOptions
    {
        private readonly Option<Channel> channel;
        private readonly Option<string> externalId;
        private readonly Option<string>? unionId;

        public IdentityOptions(bool required, bool withUnionId = true)
        {
            channel = CliOptions.Channel("--channel", ChannelHelp, required);
            externalId = CliOptions.Text("--external-id", "Id in that channel (openid, POS card number, buyer id)", "id", required);
            unionId = withUnionId ? CliOptions.Text("--union-id", "WeChat open-platform unionid of the same person", "id") : null;
        }

        public void AddTo(Command command)
        {
            command.Options.Add(channel);
            command.Options.Add(externalId);
            if (unionId is not null)
            {
                command.Options.Add(unionId);
            }
        }

        public bool IsGiven(SymbolResult result) =>
            result.IsGiven(channel) || result.IsGiven(externalId) || (unionId is not null && result.IsGiven(unionId));

        public void Validate(SymbolResult result)
        {
            if (IsGiven(result) && !(result.IsGiven(channel) && result.IsGiven(externalId)))
            {
                result.AddError(unionId is null
                    ? "--channel and --external-id go together"
                    : "--channel and --external-id go together; --union-id needs both");
            }
        }

        public Channel? ChannelOf(ParseResult parse) => parse.IsGiven(channel) ? parse.GetValue(channel) : null;

        public ChannelIdentity? Read(ParseResult parse)
        {
            if (!parse.IsGiven(channel))
            {
                return null;
            }
            var identity = new ChannelIdentity
            {
                Channel = parse.GetValue(channel),
                ExternalId = parse.GetValue(externalId) ?? "",
            };
            if (unionId is not null && parse.GetValue(unionId) is { } union)
            {
                identity.UnionId = union;
            }
            return identity;
        }
    }

    /// <summary><c>[--name] [--gender] [--birthday]</c>: profile fields, each sent only when given.</summary>
    private sealed class ProfileOptions
    {
        private readonly Option<string> name = CliOptions.Text("--name", "Display name", "name");
        private readonly Option<Gender> gender = CliOptions.Gender();
        private readonly Option<string> birthday = CliOptions.Text("--birthday", "Birthday as YYYY-MM-DD, or --MM-DD without a year (write --birthday=--MM-DD)", "date");

        public void AddTo(Command command)
        {
            command.Options.Add(name);
            command.Options.Add(gender);
            command.Options.Add(birthday);
        }

        /// <summary>The field-mask paths of the profile options on the command line.</summary>
        public List<string> GivenPaths(SymbolResult result)
        {
            var paths = new List<string>();
            if (result.IsGiven(name)) paths.Add("name");
            if (result.IsGiven(gender)) paths.Add("gender");
            if (result.IsGiven(birthday)) paths.Add("birthday");
            return paths;
        }

        public Profile? Read(ParseResult parse)
        {
            if (GivenPaths(parse.CommandResult).Count == 0)
            {
                return null;
            }
            return new Profile
            {
                Name = parse.GetValue(name) ?? "",
                Gender = parse.GetValue(gender),
                Birthday = parse.GetValue(birthday) ?? "",
            };
        }
    }

    /// <summary><c>[--source-channel] [--store] [--guide]</c>: the touchpoint of a call.</summary>
    private sealed class SourceOptions(string channelDescription)
    {
        private readonly Option<Channel> channel = CliOptions.Channel("--source-channel", channelDescription, listNames: false);
        private readonly Option<string> store = CliOptions.Text("--store", "Store id, for attribution", "id");
        private readonly Option<string> guide = CliOptions.Text("--guide", "Guide (BA) id, for attribution", "id");

        public void AddTo(Command command)
        {
            command.Options.Add(channel);
            command.Options.Add(store);
            command.Options.Add(guide);
        }

        public Touchpoint Read(ParseResult parse, Channel defaultChannel) => new()
        {
            Channel = parse.IsGiven(channel) ? parse.GetValue(channel) : defaultChannel,
            StoreId = parse.GetValue(store) ?? "",
            GuideId = parse.GetValue(guide) ?? "",
        };
    }
}
