using Identity.Service.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Extensions;
using Microsoft.OpenApi.Models;
using Swashbuckle.AspNetCore.Swagger;

namespace Identity.IntegrationTests.Http;

/// <summary>docs/openapi.json is the JSON API as the contract's google.api.http annotations define it, regenerated here.</summary>
public sealed class OpenApiDocumentTests
{
    const string Refresh = "IDENTITY_WRITE_OPENAPI=1 dotnet test tests/Identity.IntegrationTests --filter OpenApiDocumentTests";

    /// <summary>The document the server's own routes describe (built, not started: nothing listens, nothing is written).</summary>
    static async Task<string> GenerateAsync()
    {
        var data = Path.Combine(Path.GetTempPath(), "identity-tests", Guid.NewGuid().ToString("N"));
        // Started on free ports, since routes are collected when the pipeline is built; stopped at once.
        var app = IdentityApp.Build(["--urls", "http://127.0.0.1:0", "--Kestrel:Endpoints:Http:Url=http://127.0.0.1:0",
            "--Kestrel:Endpoints:Management:Url=http://127.0.0.1:0", $"--Identity:DataDirectory={data}"], builder =>
        {
            builder.Logging.ClearProviders();
            builder.Services.AddGrpcSwagger();
            builder.Services.AddSwaggerGen(swagger =>
            {
                swagger.SwaggerDoc("v1", new OpenApiInfo
                {
                    Title = "Identity JSON API",
                    Version = "v1",
                    Description = "The gRPC API's annotated methods as JSON over HTTP/1.1 on the Http endpoint. Send the client key as "
                        + "`authorization: Bearer <key>`. Errors are google.rpc.Status JSON. Generated from protos/; see README.md.",
                });
                // The server writes 64-bit integers as strings (WriteInt64sAsStrings); say so.
                swagger.MapType<long>(() => new OpenApiSchema { Type = "string", Format = "int64" });
                swagger.MapType<ulong>(() => new OpenApiSchema { Type = "string", Format = "uint64" });
                swagger.AddServer(new OpenApiServer { Url = Listeners.DefaultHttpUrl });
                var bearer = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http, Scheme = "bearer", Description = "A client key from `identity clients create`.",
                    Reference = new OpenApiReference { Type = ReferenceType.SecurityScheme, Id = "bearer" },
                };
                swagger.AddSecurityDefinition("bearer", bearer);
                swagger.AddSecurityRequirement(new OpenApiSecurityRequirement { [bearer] = [] });
            });
        });
        await app.StartAsync();
        try
        {
            var document = app.Services.GetRequiredService<ISwaggerProvider>().GetSwagger("v1");
            return document.SerializeAsJson(OpenApiSpecVersion.OpenApi3_0).ReplaceLineEndings("\n") + "\n";
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(data, recursive: true);
        }
    }

    static string DocumentPath()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Identity.sln")))
            directory = directory.Parent;
        return Path.Combine(directory?.FullName ?? throw new InvalidOperationException("Identity.sln not found"), "docs", "openapi.json");
    }

    [Fact]
    public async Task The_checked_in_document_matches_the_contract()
    {
        var generated = await GenerateAsync();
        var path = DocumentPath();
        if (Environment.GetEnvironmentVariable("IDENTITY_WRITE_OPENAPI") == "1")
            File.WriteAllText(path, generated);
        Assert.True(File.Exists(path), $"docs/openapi.json is missing; write it with: {Refresh}");
        var checkedIn = File.ReadAllText(path).ReplaceLineEndings("\n");
        Assert.True(checkedIn == generated, $"docs/openapi.json differs from the contract; refresh it with: {Refresh}");
        // What the document must say for a caller to find the entry point.
        Assert.Contains("\"/v1/members:resolve\"", generated, StringComparison.Ordinal);
    }
}
