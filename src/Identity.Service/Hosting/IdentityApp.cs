using Grpc.AspNetCore.Server.Model;
using Identity.Service.Caching;
using Identity.Service.Errors;
using Identity.Service.Loyalty;
using Identity.Service.Members;
using Identity.Service.Phones;
using Identity.Service.Security;
using Identity.Service.Storage;
using Identity.Service.Telemetry;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Options;

namespace Identity.Service.Hosting;

/// <summary>Builds the server: used by <c>Program</c> and by the integration tests, so both run the same pipeline.</summary>
public static class IdentityApp
{
    /// <summary>The gRPC endpoint's address with no configuration (see <see cref="Listeners"/> for the others).</summary>
    public const string DefaultUrl = Listeners.DefaultGrpcUrl;

    /// <summary>Largest request the server accepts. Member calls are a few hundred bytes; this leaves room and no more.</summary>
    public const int MaxReceiveMessageBytes = 64 * 1024;

    /// <summary>Largest request of ImportService: a batch of up to 1000 legacy rows.</summary>
    public const int ImportMaxReceiveMessageBytes = 4 * 1024 * 1024;

    /// <summary>
    /// Largest request of LoyaltyService: RecordOrders takes up to 500 orders, each up to about 1.4 KB with every id at
    /// its longest bound in three-byte characters (about 700 KB in all).
    /// </summary>
    public const int LoyaltyMaxReceiveMessageBytes = 1024 * 1024;

    /// <summary>The largest request a service accepts (by its full name, e.g. <c>identity.v1.LoyaltyService</c>).</summary>
    public static int MaxRequestBytes(string service) => service switch
    {
        "identity.v1.ImportService" => ImportMaxReceiveMessageBytes,
        "identity.v1.LoyaltyService" => LoyaltyMaxReceiveMessageBytes,
        _ => MaxReceiveMessageBytes,
    };

    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        // Settings files live beside the binary, so the server reads them wherever it is started from; relative data
        // paths still resolve against the working directory.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        // JSON callers may send GB18030 (or GBK) text, common in CN systems, as well as UTF-8 and UTF-16.
        System.Text.Encoding.RegisterProvider(System.Text.CodePagesEncodingProvider.Instance);
        Listeners.ApplyDefaults(builder.Configuration);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.ConfigureEndpointDefaults(endpoint => endpoint.Protocols = HttpProtocols.Http2);
            Listeners.Tag(kestrel, builder.Configuration);
        });
        // The slim builder fixes the console formatter to "simple"; Logging:Console:FormatterName=json gets JSON lines.
        if (builder.Configuration["Logging:Console:FormatterName"] is { Length: > 0 } formatter)
            builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(console => console.FormatterName = formatter);
        // A probe's result is an answer, not an event: the gRPC health publisher runs the checks before the migration is
        // done and every probe while the store is down would otherwise log an error. Store faults are logged where calls
        // meet them.
        builder.Logging.AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks.DefaultHealthCheckService", LogLevel.Critical);
        builder.Services.AddIdentityServices(builder.Configuration);
        configure?.Invoke(builder);

        var app = builder.Build();
        // Start connecting to Redis (when configured) now, not on the first call.
        app.Services.GetRequiredService<RedisCache>();
        // A route answers only on its own endpoint (gRPC, JSON, management), before any key is looked at.
        app.UseMiddleware<ListenerRouting>();
        // Who is calling, whether the RPC's rule lets that role call it, then the caller's rate limit.
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseMiddleware<CallerRateLimiting>();
        // Broken gRPC frames are the caller's error (INVALID_ARGUMENT), checked once the caller is known and admitted.
        app.UseMiddleware<GrpcFrameGuard>();
        app.UseMiddleware<JsonBodyGuard>();
        app.MapGrpcService<MemberGrpcService>().RequireAuthorization(RpcAccessRequirement.Policy);
        app.MapGrpcService<LoyaltyGrpcService>().RequireAuthorization(RpcAccessRequirement.Policy);
        app.MapGrpcService<PartnerGrpcService>().RequireAuthorization(RpcAccessRequirement.Policy);
        app.MapGrpcService<AdminGrpcService>().RequireAuthorization(RpcAccessRequirement.Policy);
        app.MapGrpcService<Import.ImportGrpcService>().RequireAuthorization(RpcAccessRequirement.Policy);
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        app.MapHealthProbes();
        // The Prometheus scrape, like the probes, answers on the Management endpoint only.
        app.MapIdentityTelemetry()?.RequireManagementEndpoint();
        return app;
    }

    public static IServiceCollection AddIdentityServices(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<IdentityOptions>().Bind(configuration.GetSection(IdentityOptions.Section));
        services.AddSingleton(TimeProvider.System);

        services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = MaxReceiveMessageBytes;
            grpc.IgnoreUnknownServices = true;
            grpc.Interceptors.Add<ErrorInterceptor>();
            grpc.Interceptors.Add<AuditInterceptor>();
        });
        // A batch of up to 1000 legacy rows is far larger than any other request.
        services.AddGrpc().AddServiceOptions<Import.ImportGrpcService>(grpc => grpc.MaxReceiveMessageSize = ImportMaxReceiveMessageBytes);
        // A till's queue of up to 500 orders in one RecordOrders call.
        services.AddGrpc().AddServiceOptions<Loyalty.LoyaltyGrpcService>(grpc => grpc.MaxReceiveMessageSize = LoyaltyMaxReceiveMessageBytes);
        services.AddAuthentication(ApiKeyAuthentication.SchemeName)
            .AddScheme<Microsoft.AspNetCore.Authentication.AuthenticationSchemeOptions, ApiKeyAuthentication>(ApiKeyAuthentication.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(RpcAccessRequirement.Policy, policy => policy.AddRequirements(new RpcAccessRequirement()));
        services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationHandler, RpcAccessHandler>();
        services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationMiddlewareResultHandler, RpcAccessResults>();
        // The same services as JSON over HTTP/1.1 on the Http endpoint, for the routes the contract annotates.
        // 64-bit integers as strings, as the protobuf JSON mapping has them (JavaScript numbers lose digits past 2^53).
        services.AddGrpc().AddJsonTranscoding(json =>
        {
            json.TypeRegistry = JsonErrors.Details;
            json.JsonSettings.WriteInt64sAsStrings = true;
        });
        services.AddGrpcReflection();
        services.AddSingleton<ListenerAddresses>();
        services.AddSingleton<DatabaseReadiness>();
        services.AddSingleton<DatabaseHealthCheck>(); // one instance, so that its probe is shared
        services.AddGrpcHealthChecks(health =>
        {
            // Every API service is as ready as the server: one store, one cache. "" is the server as a whole.
            health.Services.Map("", result => result.Tags.Contains(HealthProbes.Ready));
            foreach (var service in ServedServices)
                health.Services.Map(service, result => result.Tags.Contains(HealthProbes.Ready));
        })
            .AddCheck<DatabaseHealthCheck>("database", tags: [HealthProbes.Ready])
            .AddCheck<RedisHealthCheck>("redis", tags: [HealthProbes.Ready]);

        // Pooled: the hot and write paths create a context per operation, and pooling makes that cheap.
        services.AddPooledDbContextFactory<IdentityDbContext>((provider, db) => ConfigureContext(provider, db));
        services.AddSingleton(provider => new SqliteWriterConnection(provider.GetRequiredService<IOptions<IdentityOptions>>().Value,
            (builder, connection) => ConfigureContext(provider, builder, connection)));
        services.AddHostedService<DatabaseMigrator>();
        services.AddHostedService<SqliteCheckpointer>();
        services.AddSingleton<IdentityStore>();

        services.AddSingleton(provider => PhoneKeys.Load(
            provider.GetRequiredService<IOptions<IdentityOptions>>(), provider.GetRequiredService<ILogger<PhoneKeys>>()));
        services.AddSingleton<PhoneProtector>();
        services.AddSingleton<MemberDirectory>();
        services.AddSingleton<MemberMapper>();

        services.AddSingleton<ProgramCatalog>();
        services.AddSingleton<PointsStatements>();
        services.AddSingleton<Loyalty.Writes.AccountOpening>();
        services.AddSingleton<Loyalty.Writes.OrderRecording>();
        services.AddSingleton<Loyalty.Writes.DirectOrderWrite>();
        services.AddSingleton<Loyalty.OrderReplay>();
        services.AddSingleton<Loyalty.Writes.RefundRecording>();
        services.AddSingleton<Loyalty.Writes.PointsSpending>();
        services.AddSingleton<Loyalty.Writes.DailyCheckIn>();
        services.AddSingleton<Loyalty.Writes.MembershipPurchase>();
        services.AddSingleton<LoyaltyMerger>();
        services.AddSingleton<LoyaltyMaintenance>();
        services.AddSingleton<LedgerVerifier>();
        services.AddOptions<Import.ImportSettings>().Bind(configuration.GetSection(Import.ImportSettings.Section));
        services.AddSingleton<Import.RowChecker>();
        services.AddSingleton<Import.ImportBatchWriter>();
        services.AddSingleton<Import.ImportDirectory>();
        services.AddSingleton<Import.ImportStreams>();
        services.AddHostedService<LoyaltyBackgroundJobs>();

        services.AddOptions<CacheOptions>().Bind(configuration.GetSection(CacheOptions.Section));
        services.AddOptions<RedisOptions>().Bind(configuration.GetSection(RedisOptions.Section));
        services.AddSingleton<CacheKeys>();
        services.AddSingleton<CacheChangeInterceptor>();
        services.AddSingleton<InvalidationOutbox>();
        services.AddHostedService(provider => provider.GetRequiredService<InvalidationOutbox>());
        services.AddSingleton<L1Cache>();
        services.AddSingleton<RedisCache>();
        services.AddSingleton<SnapshotLoader>();
        services.AddSingleton<MemberCache>();
        services.AddSingleton<MemberSnapshots>();
        services.AddSingleton<CachedWrites>();
        services.AddSingleton<IdempotentWrites>();

        services.AddSingleton<ClientRegistry>();
        services.AddSingleton<CallerRateLimiter>();
        services.AddSingleton<AuditTrail>();
        services.AddHostedService<AuditWriter>();
        services.AddSingleton<PartnerPseudonyms>();
        services.AddSingleton<PartnerSharing>();

        services.AddIdentityTelemetry(configuration);
        services.AddSingleton<MalformedRequestLog>();
        services.AddSingleton<StoreFaultLog>();
        GuardRequestParsing(services);
        return services;
    }

    /// <summary>
    /// Every context's configuration: the store, the interceptors, the log levels. <paramref name="sqliteConnection"/> is
    /// the SQLite writer's own open connection (<see cref="SqliteWriterConnection"/>), else the context takes one from the pool.
    /// </summary>
    static void ConfigureContext(IServiceProvider provider, DbContextOptionsBuilder db, Microsoft.Data.Sqlite.SqliteConnection? sqliteConnection = null)
    {
        var options = provider.GetRequiredService<IOptions<IdentityOptions>>().Value;
        db.Use(options, sqliteConnection)
          .AddInterceptors(provider.GetRequiredService<CacheChangeInterceptor>(), provider.GetRequiredService<LedgerWriteCounter>())
          // A failed command, save or commit reaches ErrorInterceptor, which logs it once: at Error when unexpected, as a
          // throttled warning when it is a store fault (busy, disk full). EF's own copy need not shout too: on PostgreSQL
          // most are races another instance won, which the write runs again and wins or replays.
          .ConfigureWarnings(w => w.Log((RelationalEventId.CommandError, LogLevel.Warning), (RelationalEventId.TransactionError, LogLevel.Warning),
              (CoreEventId.SaveChangesFailed, LogLevel.Warning)));
        if (options.Store.IsPostgres)
            db.AddInterceptors(new PostgresRowLocks());
        else
            db.AddInterceptors(new SqliteConnectionSettings(options.Database.BusyTimeoutSeconds));
    }

    /// <summary>The gRPC services grpc.health.v1 answers for by name.</summary>
    public static IReadOnlyList<string> ServedServices { get; } =
    [
        Identity.V1.MemberService.Descriptor.FullName, Identity.V1.LoyaltyService.Descriptor.FullName,
        Identity.V1.PartnerService.Descriptor.FullName, Identity.V1.AdminService.Descriptor.FullName,
    ];

    /// <summary>
    /// Swaps grpc-dotnet's method binder for one that binds the same methods with guarded request marshallers, so a
    /// request that does not parse is INVALID_ARGUMENT rather than UNKNOWN. Fails at start if the binder is not found.
    /// </summary>
    static void GuardRequestParsing(IServiceCollection services)
    {
        var binder = services.Single(d => d.ServiceType == typeof(IServiceMethodProvider<>)
            && d.ImplementationType?.Name == "BinderServiceMethodProvider`1");
        services.Remove(binder);
        services.AddSingleton(typeof(IServiceMethodProvider<>), typeof(GuardedServiceMethodProvider<>));
    }
}
