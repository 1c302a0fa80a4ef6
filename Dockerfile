# Identity member service: multi-stage build (SDK → ASP.NET runtime), non-root, data on a volume.
# Build: docker build -t identity .      Run: docker run -p 5100:5100 -v identity-data:/data identity

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore first, from the project files alone, so the layer is reused while only sources change.
COPY Directory.Build.props Directory.Packages.props ./
COPY protos/ protos/
COPY src/Identity.Service/Identity.Service.csproj src/Identity.Service/
RUN dotnet restore src/Identity.Service/Identity.Service.csproj
COPY src/Identity.Service/ src/Identity.Service/
RUN dotnet publish src/Identity.Service/Identity.Service.csproj -c Release --no-restore -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
# The image's non-root "app" user owns the data volume (SQLite file; development keys only when none are configured).
RUN mkdir -p /data && chown app:app /data && chmod 700 /data
VOLUME /data
ENV Identity__DataDirectory=/data \
    Urls=http://+:5100 \
    ASPNETCORE_HTTP_PORTS=
USER app
EXPOSE 5100
ENTRYPOINT ["dotnet", "Identity.Service.dll"]
