using Google.Protobuf;
using Google.Protobuf.Reflection;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;

namespace Identity.IntegrationTests.Security;

/// <summary>
/// Scope is decided on the member a call resolves to, in every key form. Generated from the contract: every RPC that
/// names a member × every key form (phone, channel identity, member id, merged id) × own member / foreign member /
/// merged id of a foreign member × each role. A mini-program's out-of-scope member answers exactly like an unknown
/// one, and replies show it only its own channel's identities and the unionid.
/// </summary>
public sealed class MemberScopeMatrixTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    IdentityServer Server => fixture.Server;

    /// <summary>How a request names its member.</summary>
    public enum Form { Phone, Identity, MemberId }

    /// <summary>A way to name one member: the form and the value(s).</summary>
    sealed record Key(Form Form, string? Phone = null, ChannelIdentity? Identity = null, string? MemberId = null)
    {
        public MemberKey ToMemberKey() => Form switch
        {
            Form.Phone => new MemberKey { Phone = Phone },
            Form.Identity => new MemberKey { ChannelIdentity = Identity },
            _ => new MemberKey { MemberId = MemberId },
        };

        public override string ToString() => Form switch
        {
            Form.Phone => "phone",
            Form.Identity => $"identity {Identity!.Channel}",
            _ => "member id",
        };
    }

    /// <summary>A request for an RPC naming the member by a key; null when the RPC cannot name a member that way.</summary>
    delegate IMessage? RequestFor(Key key);

    static string Fresh() => Guid.NewGuid().ToString("N")[..16];

    /// <summary>
    /// Every member-naming RPC and how to call it. RPCs that only an admin may call and that change who the member is
    /// (merge, erase, phone change) are called by the other roles only: they must be refused before touching anyone.
    /// </summary>
    static readonly Dictionary<string, (RequestFor Build, bool AdminRuns)> Rpcs = new()
    {
        ["MemberService/ResolveMember"] = (k => k.Form switch
        {
            Form.Phone => new ResolveMemberRequest { Phone = k.Phone, StoreId = "S001" },
            Form.Identity => new ResolveMemberRequest { ChannelIdentity = k.Identity, StoreId = "S001" },
            _ => new ResolveMemberRequest { MemberId = k.MemberId, StoreId = "S001" },
        }, true),
        ["MemberService/BindChannelIdentity"] = (k => k.Form != Form.MemberId ? null : new BindChannelIdentityRequest
        {
            MemberId = k.MemberId, ChannelIdentity = TestData.MiniProgram(TestData.OpenId()), Source = TestData.MiniProgramSource(),
        }, false), // an admin binding a mini-program openid would bring the foreign member into scope
        ["MemberService/UpdateProfile"] = (k => k.Form != Form.MemberId ? null : new UpdateProfileRequest
        {
            MemberId = k.MemberId, Profile = new Profile { Gender = Gender.Female }, UpdateMask = new FieldMask { Paths = { "gender" } },
        }, true),
        ["MemberService/SetConsent"] = (k => k.Form != Form.MemberId ? null : new SetConsentRequest
        {
            MemberId = k.MemberId, Purpose = ConsentPurpose.Marketing, Granted = true, Channel = Channel.WechatMiniProgram,
        }, true),
        ["MemberService/ChangePhone"] = (k => k.Form != Form.MemberId ? null : new ChangePhoneRequest { MemberId = k.MemberId, NewPhone = TestData.Phone() }, false),
        ["MemberService/MergeMembers"] = (k => k.Form != Form.MemberId ? null : new MergeMembersRequest
        {
            SurvivorMemberId = k.MemberId, AbsorbedMemberId = k.MemberId, Reason = "matrix", Operator = "matrix",
        }, false),
        ["MemberService/GetMergeHistory"] = (k => k.Form != Form.MemberId ? null : new GetMergeHistoryRequest { MemberId = k.MemberId }, true),
        ["MemberService/EraseMember"] = (k => k.Form != Form.MemberId ? null : new EraseMemberRequest { MemberId = k.MemberId, ReasonCode = ErasureReason.MemberRequest }, false),
        ["LoyaltyService/GetBenefits"] = (k => new GetBenefitsRequest
        {
            Member = k.ToMemberKey(), Context = new BenefitContext { Channel = Channel.Pos, StoreId = "S001" },
        }, true),
        ["LoyaltyService/RecordOrder"] = (k => new RecordOrderRequest
        {
            Member = k.ToMemberKey(), Channel = Channel.Pos, OrderId = "M-" + Fresh(), StoreId = "S001", AmountFen = 100,
        }, true),
        ["LoyaltyService/RedeemPoints"] = (k => new RedeemPointsRequest { Member = k.ToMemberKey(), RequestId = Fresh(), Points = 1 }, true),
        ["LoyaltyService/AdjustPoints"] = (k => new AdjustPointsRequest
        {
            Member = k.ToMemberKey(), RequestId = Fresh(), Points = 2, Reason = "matrix", Operator = "matrix",
        }, true),
        ["LoyaltyService/CheckIn"] = (k => new CheckInRequest { Member = k.ToMemberKey(), Channel = Channel.WechatMiniProgram }, true),
        ["LoyaltyService/PurchaseMembership"] = (k => new PurchaseMembershipRequest
        {
            Member = k.ToMemberKey(), RequestId = Fresh(), TierCode = "black", PaidFen = 29_900, Channel = Channel.WechatMiniProgram,
        }, true),
        ["LoyaltyService/GetPointsAccount"] = (k => new GetPointsAccountRequest { Member = k.ToMemberKey() }, true),
        ["LoyaltyService/ListPointsEntries"] = (k => new ListPointsEntriesRequest { Member = k.ToMemberKey() }, true),
    };

    /// <summary>RPCs that name a member but are covered elsewhere, and why.</summary>
    static readonly Dictionary<string, string> CoveredElsewhere = new()
    {
        ["MemberService/EnrollMember"] = "the way a member enters a mini-program's scope (proven phone + own openid): see Enrolment_is_how_a_member_enters_a_mini_programs_scope",
        ["PartnerService/CheckMembership"] = "partners see consenting members only: PartnerTests",
        ["PartnerService/RecordPartnerOrder"] = "partners see consenting members only: PartnerTests",
        ["AdminService/ListAuditEvents"] = "admin only (filters the audit trail by member id): AccessMatrixTests",
        ["LoyaltyService/RecordOrders"] = "POS only (no member scope), each order answered as RecordOrder answers it: OrderReplayTests",
    };

    /// <summary>The request names a member itself, or holds requests that do (a batch of orders).</summary>
    static bool NamesAMember(MessageDescriptor input) =>
        input.Fields.InDeclarationOrder().Any(f =>
            f.Name is "member_id" or "phone" or "survivor_member_id" or "partner_member_id"
            || (f.FieldType == FieldType.Message && (f.MessageType.FullName == MemberKey.Descriptor.FullName
                || (f.MessageType != input && f.MessageType.FullName.EndsWith("Request", StringComparison.Ordinal) && NamesAMember(f.MessageType)))));

    [Fact]
    public void Every_rpc_that_names_a_member_is_in_the_matrix()
    {
        var naming = DynamicCall.ContractMethods().Where(m => NamesAMember(m.InputType)).Select(m => $"{m.Service.Name}/{m.Name}").ToList();
        Assert.NotEmpty(naming);
        foreach (var name in naming)
            Assert.True(Rpcs.ContainsKey(name) || CoveredElsewhere.ContainsKey(name), $"{name} names a member but is not in the scope matrix");
    }

    [Fact]
    public async Task Scope_is_decided_on_the_member_the_call_resolves_to_in_every_key_form()
    {
        var roles = new Dictionary<string, CallInvoker>
        {
            ["miniprogram"] = Server.WithKey(await Server.CreateClientAsync("mp", ClientRole.Miniprogram, Channel.WechatMiniProgram)),
            ["pos"] = Server.WithKey(await Server.CreateClientAsync("till", ClientRole.Pos, stores: ["S001"])),
            ["partner"] = Server.WithKey(await Server.CreateClientAsync("partner", ClientRole.Partner)),
            ["admin"] = Server.WithKey(Server.TestKey),
        };
        var mp = new MemberService.MemberServiceClient(roles["miniprogram"]);

        // Own: enrolled through the mini-program with a proven phone, its openid and unionid; also known on Tmall.
        var own = await TargetAsync(mp, Channel.WechatMiniProgram, unionId: "u" + Fresh());
        await Server.Members.BindChannelIdentityAsync(new BindChannelIdentityRequest
        {
            MemberId = own.Id, ChannelIdentity = new ChannelIdentity { Channel = Channel.Tmall, ExternalId = "tm-" + Fresh() }, Source = TestData.Pos(),
        });
        // A member merged into the own member: its id redirects into scope.
        var ownAbsorbed = await TargetAsync(Server.Members, Channel.Jd);
        await MergeAsync(own.Id, ownAbsorbed.Id);
        // Foreign: never used this mini-program; and the merged id of another foreign member.
        var foreign = await TargetAsync(Server.Members, Channel.Tmall);
        var foreignSurvivor = await TargetAsync(Server.Members, Channel.Tmall);
        var foreignAbsorbed = await TargetAsync(Server.Members, Channel.Douyin);
        await MergeAsync(foreignSurvivor.Id, foreignAbsorbed.Id);

        var ownTmall = (await Server.Members.ResolveMemberAsync(new ResolveMemberRequest { MemberId = own.Id })).Member.ChannelIdentities
            .Single(i => i.Channel == Channel.Tmall).ExternalId;
        var cases = new List<(string Target, bool InScope, Key Key)>
        {
            ("own", true, new Key(Form.Phone, Phone: own.Phone)),
            ("own", true, new Key(Form.Identity, Identity: TestData.MiniProgram(own.ExternalId))),
            ("own", true, new Key(Form.Identity, Identity: new ChannelIdentity { Channel = Channel.Tmall, ExternalId = ownTmall })),
            ("own", true, new Key(Form.MemberId, MemberId: own.Id)),
            ("own merged id", true, new Key(Form.MemberId, MemberId: ownAbsorbed.Id)),
            ("foreign", false, new Key(Form.Phone, Phone: foreign.Phone)),
            ("foreign", false, new Key(Form.Identity, Identity: new ChannelIdentity { Channel = Channel.Tmall, ExternalId = foreign.ExternalId })),
            ("foreign", false, new Key(Form.MemberId, MemberId: foreign.Id)),
            ("foreign merged id", false, new Key(Form.MemberId, MemberId: foreignAbsorbed.Id)),
        };

        var failures = new List<string>();
        foreach (var (rpcName, (build, adminRuns)) in Rpcs)
        {
            var method = DynamicCall.ContractMethods().Single(m => $"{m.Service.Name}/{m.Name}" == rpcName);
            var rule = Identity.Service.Security.AccessRules.All[$"/{method.Service.FullName}/{method.Name}"];
            foreach (var (role, invoker) in roles)
            {
                var roleValue = System.Enum.Parse<ClientRole>(role, ignoreCase: true);
                if (roleValue == ClientRole.Admin && !adminRuns)
                    continue;
                foreach (var (target, inScope, key) in cases)
                {
                    if (build(key) is not { } request)
                        continue;
                    var label = $"{role} {rpcName} {target} by {key}";
                    var (code, reply, error) = await DynamicCall.TryAsync(invoker, method, request);
                    if (!rule.Roles.Contains(roleValue))
                    {
                        if (code != StatusCode.PermissionDenied)
                            failures.Add($"{label}: expected PERMISSION_DENIED (role), got {code}");
                        continue;
                    }
                    if (roleValue != ClientRole.Miniprogram || inScope)
                    {
                        if (code is StatusCode.NotFound or StatusCode.PermissionDenied or StatusCode.InvalidArgument or StatusCode.Internal or StatusCode.Unknown)
                            failures.Add($"{label}: expected the member to be reached, got {code}: {error?.Status.Detail}");
                        foreach (var member in DynamicCall.MembersIn(reply))
                        {
                            var hidden = member.ChannelIdentities.Where(i => i.Channel is not (Channel.WechatMiniProgram or Channel.WechatUnion)).ToList();
                            if (roleValue == ClientRole.Miniprogram && hidden.Count > 0)
                                failures.Add($"{label}: the reply shows {string.Join(", ", hidden.Select(i => i.Channel))} identities to a mini-program");
                            if (roleValue == ClientRole.Admin && member.MemberId == own.Id && !member.ChannelIdentities.Any(i => i.Channel == Channel.Tmall))
                                failures.Add($"{label}: an admin should see every identity");
                        }
                        continue;
                    }

                    // Out of scope: exactly what an unknown member of the same key form gets.
                    var unknown = key.Form switch
                    {
                        Form.Phone => key with { Phone = TestData.Phone() },
                        Form.Identity => key with { Identity = new ChannelIdentity { Channel = key.Identity!.Channel, ExternalId = "x" + Fresh() } },
                        _ => key with { MemberId = Guid.NewGuid().ToString("N") },
                    };
                    var (unknownCode, _, unknownError) = await DynamicCall.TryAsync(invoker, method, build(unknown)!);
                    if (code != StatusCode.NotFound || unknownCode != StatusCode.NotFound || error is null || unknownError is null)
                    {
                        failures.Add($"{label}: expected NOT_FOUND like an unknown member ({unknownCode}), got {code}: {error?.Status.Detail}");
                        continue;
                    }
                    var expectedMessage = unknown.MemberId is { } unknownId
                        ? unknownError.Status.Detail.Replace(unknownId, key.MemberId, StringComparison.Ordinal)
                        : unknownError.Status.Detail;
                    if (error.Reason() != unknownError.Reason() || error.Status.Detail != expectedMessage)
                        failures.Add($"{label}: answered '{error.Reason()}: {error.Status.Detail}', an unknown member '{unknownError.Reason()}: {expectedMessage}'");
                }
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} cells failed:\n" + string.Join("\n", failures));
    }

    [Fact]
    public async Task Enrolment_is_how_a_member_enters_a_mini_programs_scope()
    {
        var mp = Server.MembersAs(await Server.CreateClientAsync("mp", ClientRole.Miniprogram, Channel.WechatMiniProgram));
        var foreign = await TargetAsync(Server.Members, Channel.Tmall);
        await Rpc.FailsWith(StatusCode.NotFound, mp.ResolveMemberAsync(new ResolveMemberRequest { Phone = foreign.Phone }));

        // Without its own identity, enrolment cannot name somebody else's phone.
        var bare = await Rpc.FailsWith(StatusCode.InvalidArgument, mp.EnrollMemberAsync(new EnrollMemberRequest
        {
            Phone = foreign.Phone, Source = TestData.MiniProgramSource(),
        }));
        Assert.Contains("channel_identity", bare.BadFields());
        await Rpc.FailsWith(StatusCode.PermissionDenied, mp.EnrollMemberAsync(new EnrollMemberRequest
        {
            Phone = foreign.Phone, ChannelIdentity = new ChannelIdentity { Channel = Channel.Tmall, ExternalId = "tm-" + Fresh() },
            Source = TestData.MiniProgramSource(),
        }));

        // The proven phone with its own openid brings the member in; the reply hides the Tmall identity.
        var enrolled = await mp.EnrollMemberAsync(new EnrollMemberRequest
        {
            Phone = foreign.Phone, ChannelIdentity = TestData.MiniProgram(TestData.OpenId()), Source = TestData.MiniProgramSource(),
        });
        Assert.Equal(foreign.Id, enrolled.Member.MemberId);
        Assert.DoesNotContain(enrolled.Member.ChannelIdentities, i => i.Channel == Channel.Tmall);
        var resolved = await mp.ResolveMemberAsync(new ResolveMemberRequest { Phone = foreign.Phone });
        Assert.Equal(foreign.Id, resolved.Member.MemberId);
    }

    [Fact]
    public async Task A_set_birthday_is_changed_by_an_operator_only()
    {
        var mp = Server.MembersAs(await Server.CreateClientAsync("mp", ClientRole.Miniprogram, Channel.WechatMiniProgram));
        var own = await TargetAsync(mp, Channel.WechatMiniProgram);
        UpdateProfileRequest Birthday(string date) => new()
        {
            MemberId = own.Id, Profile = new Profile { Birthday = date }, UpdateMask = new FieldMask { Paths = { "birthday" } },
        };

        await mp.UpdateProfileAsync(Birthday("1991-03-04")); // empty: anyone in scope sets it
        await mp.UpdateProfileAsync(Birthday("1991-03-04")); // the same value again changes nothing
        var moved = await Rpc.FailsWith(StatusCode.FailedPrecondition, mp.UpdateProfileAsync(Birthday($"1991-{DateTime.UtcNow.Month:D2}-01")));
        Assert.Equal("BIRTHDAY_ALREADY_SET", moved.Reason());
        Assert.Equal("1991-03-04", (await Server.Members.ResolveMemberAsync(new ResolveMemberRequest { MemberId = own.Id })).Member.Profile.Birthday);

        await Server.Members.UpdateProfileAsync(Birthday("1991-03-05")); // an operator corrects it
        Assert.Equal("1991-03-05", (await Server.Members.ResolveMemberAsync(new ResolveMemberRequest { MemberId = own.Id })).Member.Profile.Birthday);
    }

    sealed record Target(string Id, string Phone, string ExternalId);

    /// <summary>A member with a phone and one identity on <paramref name="channel"/>, enrolled through <paramref name="client"/>.</summary>
    static async Task<Target> TargetAsync(MemberService.MemberServiceClient client, Channel channel, string? unionId = null)
    {
        var phone = TestData.Phone();
        var externalId = channel == Channel.WechatMiniProgram ? TestData.OpenId() : $"{channel}-{Fresh()}";
        var identity = new ChannelIdentity { Channel = channel, ExternalId = externalId };
        if (unionId is not null)
            identity.UnionId = unionId;
        var source = channel == Channel.WechatMiniProgram ? TestData.MiniProgramSource() : TestData.Pos();
        var member = (await client.EnrollMemberAsync(new EnrollMemberRequest { Phone = phone, ChannelIdentity = identity, Source = source })).Member;
        return new Target(member.MemberId, phone, externalId);
    }

    async Task MergeAsync(string survivor, string absorbed) =>
        await Server.Members.MergeMembersAsync(new MergeMembersRequest { SurvivorMemberId = survivor, AbsorbedMemberId = absorbed, Reason = "dup", Operator = "ops" });
}
