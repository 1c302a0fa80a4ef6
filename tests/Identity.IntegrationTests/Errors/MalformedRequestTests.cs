using System.IO.Compression;
using Google.Protobuf;

namespace Identity.IntegrationTests.Errors;

/// <summary>
/// Bytes that are not a valid gRPC message — broken frames, garbage, invalid UTF-8 — are INVALID_ARGUMENT with
/// ErrorInfo MALFORMED_REQUEST, never INTERNAL or UNKNOWN, write nothing and log nothing at error level.
/// </summary>
public sealed class MalformedRequestTests(ServerFixture fixture) : IClassFixture<ServerFixture>
{
    const string Enroll = "/identity.v1.MemberService/EnrollMember";
    const string RecordOrder = "/identity.v1.LoyaltyService/RecordOrder";
    const string RecordOrders = "/identity.v1.LoyaltyService/RecordOrders";

    static readonly byte[] InvalidUtf8 = [0xC3, 0x28, 0xFF];

    /// <summary>A string field (length-delimited) holding <paramref name="value"/> bytes.</summary>
    static byte[] StringField(int number, byte[] value) => [(byte)(number << 3 | 2), (byte)value.Length, .. value];

    static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
            gzip.Write(bytes);
        return output.ToArray();
    }

    public static TheoryData<string, string, byte[], string?, string[]> Cases
    {
        get
        {
            var valid = new EnrollMemberRequest { Phone = "13800000000", Source = TestData.Pos() }.ToByteArray();
            var nestedBadPhone = StringField(1, [.. StringField(1, InvalidUtf8)]); // member { phone = <bad> }
            // RecordOrders { orders: [ {order_id "a"}, {order_id "b"}, {order_id <bad>} ] }: the till learns which order.
            byte[] thirdOrderBad = [.. StringField(1, StringField(3, "a"u8.ToArray())), .. StringField(1, StringField(3, "b"u8.ToArray())),
                .. StringField(1, StringField(3, InvalidUtf8))];
            return new()
            {
                { "garbage", Enroll, RawGrpc.Frame([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]), null, [] },
                { "truncated varint", Enroll, RawGrpc.Frame([0x08, 0xFF]), null, [] },
                { "length beyond the payload", Enroll, RawGrpc.Frame(valid, declaredLength: valid.Length + 50), null, [] },
                { "length shorter than the payload", Enroll, RawGrpc.Frame(valid, declaredLength: valid.Length - 3), null, [] },
                { "empty body", Enroll, [], null, [] },
                { "partial header", Enroll, [0, 0, 0], null, [] },
                { "invalid UTF-8 phone", Enroll, RawGrpc.Frame(StringField(1, InvalidUtf8)), null, ["phone"] },
                { "invalid UTF-8 nested phone", RecordOrder, RawGrpc.Frame(nestedBadPhone), null, ["member.phone"] },
                { "invalid UTF-8 in the third order of a batch", RecordOrders, RawGrpc.Frame(thirdOrderBad), null, ["orders[2].order_id"] },
                { "compressed flag without grpc-encoding", Enroll, RawGrpc.Frame(valid, flag: 1), null, [] },
                { "compressed flag with identity encoding", Enroll, RawGrpc.Frame(valid, flag: 1), "identity", [] },
                { "undefined compressed flag", Enroll, RawGrpc.Frame(valid, flag: 7), null, [] },
                { "corrupt gzip", Enroll, RawGrpc.Frame([0x1F, 0x8B, 0x08, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF], flag: 1), "gzip", [] },
                { "gzip of garbage", Enroll, RawGrpc.Frame(Gzip([0xFF, 0xFF, 0xFF]), flag: 1), "gzip", [] },
                { "gzip of invalid UTF-8", Enroll, RawGrpc.Frame(Gzip(StringField(1, InvalidUtf8)), flag: 1), "gzip", ["phone"] },
                { "wrong wire type for a message field", Enroll, RawGrpc.Frame([0x21, 1, 2, 3, 4, 5, 6, 7, 8, 0x22, 0x05, 0x01]), null, [] },
            };
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Malformed_bytes_are_invalid_argument_naming_the_field_and_write_nothing(
        string because, string method, byte[] body, string? encoding, string[] fields)
    {
        var server = fixture.Server;
        var before = (server.Count("members"), server.Count("points_entries"));
        using var raw = new RawGrpc(server.Address, server.TestKey);

        var outcome = await raw.SendAsync(method, body, encoding);

        Assert.True(outcome.Status == 3, $"{because}: expected INVALID_ARGUMENT (3), got {outcome.Status}: {outcome.Message}");
        Assert.Equal("MALFORMED_REQUEST", outcome.Reason);
        Assert.Equal(fields, outcome.BadFields);
        Assert.Equal(before, (server.Count("members"), server.Count("points_entries")));
        Assert.DoesNotContain(server.Logs.Lines, line => line.StartsWith("Error ", StringComparison.Ordinal) || line.StartsWith("Critical ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_flood_of_garbage_logs_a_line_a_second_without_stack_traces_and_the_server_keeps_serving()
    {
        var server = fixture.Server;
        using var raw = new RawGrpc(server.Address, server.TestKey);
        var linesBefore = server.Logs.Lines.Count(l => l.Contains("Refused a malformed request (protobuf)", StringComparison.Ordinal));
        for (var i = 0; i < 50; i++)
            Assert.Equal(3, (await raw.SendAsync(Enroll, RawGrpc.Frame([0xFF, 0xFF, 0xFF]))).Status);
        await Task.Delay(TimeSpan.FromSeconds(1.1));
        Assert.Equal(3, (await raw.SendAsync(Enroll, RawGrpc.Frame([0xFF, 0xFF, 0xFF]))).Status);

        var refusals = server.Logs.Lines.Where(l => l.Contains("Refused a malformed request (protobuf)", StringComparison.Ordinal)).ToList();
        Assert.InRange(refusals.Count - linesBefore, 1, 3); // 51 refusals over about a second
        Assert.Contains(refusals, line => !line.Contains("(0 more like it", StringComparison.Ordinal));
        Assert.All(refusals, line => Assert.DoesNotContain("   at ", line, StringComparison.Ordinal));
        Assert.True((await server.Members.EnrollMemberAsync(TestData.EnrollAtPos(TestData.Phone()))).Created);
    }

    [Fact]
    public async Task A_well_formed_gzip_request_still_works()
    {
        using var raw = new RawGrpc(fixture.Server.Address, fixture.Server.TestKey);
        var request = TestData.EnrollAtPos(TestData.Phone()).ToByteArray();
        var outcome = await raw.SendAsync(Enroll, RawGrpc.Frame(Gzip(request), flag: 1), "gzip");
        Assert.True(outcome.Status == 0, outcome.Message);
    }

    [Fact]
    public void Guarded_methods_keep_the_endpoint_metadata_grpc_dotnet_would_give_them()
    {
        var endpoints = fixture.Server.Service<Microsoft.AspNetCore.Routing.EndpointDataSource>().Endpoints
            .Select(e => (Endpoint: e, Grpc: e.Metadata.GetMetadata<Grpc.AspNetCore.Server.GrpcMethodMetadata>()))
            .Where(e => e.Grpc is not null && e.Grpc.ServiceType.Namespace?.StartsWith("Identity.Service", StringComparison.Ordinal) == true)
            // The JSON forms of the annotated methods are endpoints of their own (Http endpoint; see Http/JsonApiTests).
            .Where(e => e.Endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Grpc.JsonTranscoding.GrpcJsonTranscodingMetadata>() is null)
            .ToList();
        Assert.Equal(5, endpoints.Select(e => e.Grpc!.ServiceType).Distinct().Count());
        var contract = new[] { MemberService.Descriptor, LoyaltyService.Descriptor, PartnerService.Descriptor, AdminService.Descriptor, ImportService.Descriptor }
            .SelectMany(service => service.Methods.Select(m => m.FullName)).Order(StringComparer.Ordinal);
        Assert.Equal(contract, endpoints.Select(e => e.Grpc!.Method.FullName.TrimStart('/').Replace('/', '.')).Order(StringComparer.Ordinal));
        foreach (var (endpoint, grpc) in endpoints)
        {
            var handler = grpc!.ServiceType.GetMethod(grpc.Method.Name)!;
            var expected = grpc.ServiceType.GetCustomAttributes(inherit: true).Concat(handler.GetCustomAttributes(inherit: true)).Select(a => a.GetType()).ToList();
            var present = endpoint.Metadata.Select(m => m.GetType()).ToList();
            Assert.All(expected, type => Assert.Contains(type, present));
            var http = endpoint.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.IHttpMethodMetadata>();
            Assert.Equal(["POST"], http?.HttpMethods);
            Assert.Equal("gRPC - " + grpc.Method.FullName, endpoint.DisplayName);
        }
    }
}
