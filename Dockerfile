# Identity member service: multi-stage build (SDK → ASP.NET runtime), non-root, data on a volume, the `identity` CLI
# on PATH. Build: docker build -t identity .
# Run:   docker run -d --name identity -p 5100:5100 -p 5101:5101 -p 5102:5102 -v identity-data:/data identity
# Ports: 5100 gRPC (h2c), 5101 JSON over HTTP/1.1, 5102 probes (/healthz, /readyz) and metrics.

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore first, from the project files alone, so the layer is reused while only sources change.
COPY Directory.Build.props Directory.Packages.props ./
COPY protos/ protos/
COPY src/Identity.Service/Identity.Service.csproj src/Identity.Service/
COPY src/Identity.Cli/Identity.Cli.csproj src/Identity.Cli/
RUN dotnet restore src/Identity.Service/Identity.Service.csproj && dotnet restore src/Identity.Cli/Identity.Cli.csproj
COPY src/Identity.Service/ src/Identity.Service/
COPY src/Identity.Cli/ src/Identity.Cli/
RUN dotnet publish src/Identity.Service/Identity.Service.csproj -c Release --no-restore -o /app \
 && dotnet publish src/Identity.Cli/Identity.Cli.csproj -c Release --no-restore -o /app/cli

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
COPY --from=build /app /app
# The CLI as `identity`. The image's non-root "app" user owns the data volume (SQLite file, the bootstrap admin key,
# development phone keys only when none are configured).
RUN printf '#!/bin/sh\nexec dotnet /app/cli/identity.dll "$@"\n' > /usr/local/bin/identity \
 && chmod 755 /usr/local/bin/identity \
 && mkdir -p /data && chown app:app /data && chmod 700 /data
VOLUME /data
# Every setting comes from the environment (Identity__…, Redis__…, Kestrel__Endpoints__<Name>__Url). Urls is the gRPC
# endpoint, as before; ASPNETCORE_HTTP_PORTS is cleared so the base image's port 8080 is not bound too.
ENV Identity__DataDirectory=/data \
    Urls=http://+:5100 \
    Kestrel__Endpoints__Http__Url=http://+:5101 \
    Kestrel__Endpoints__Management__Url=http://+:5102 \
    ASPNETCORE_HTTP_PORTS=
USER app
# From /data, `docker exec <container> identity …` finds the bootstrap admin key (/data/admin.key) by itself.
WORKDIR /data
EXPOSE 5100 5101 5102
# The runtime image has no curl or wget: the CLI asks the readiness probe.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["identity", "health", "--url", "http://127.0.0.1:5102/readyz"]
ENTRYPOINT ["dotnet", "/app/Identity.Service.dll"]
