#!/usr/bin/env bash
# Runs every test project and prints one closing line "N passed, N failed" (totals from the TRX results).
# Exits non-zero when any test fails or nothing ran. The tests need the .NET SDK, redis-server and PostgreSQL (installed
# here when missing); they start their own servers and redis-server processes on free loopback ports, with SQLite files
# in temporary folders. The integration suite runs twice: on SQLite, then on PostgreSQL (IDENTITY_TEST_STORE=Postgres,
# one private cluster for the run on a free loopback port, a database per test server).
set -uo pipefail
cd "$(dirname "$0")/.."

if ! command -v redis-server >/dev/null 2>&1; then
  echo "Installing redis-server (the cache tests run real Redis processes)..."
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq redis-server >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
  # The package starts a system service on 6379; the tests bring their own servers.
  $sudo service redis-server stop >/dev/null 2>&1 || true
fi

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && ! command -v initdb >/dev/null 2>&1; then
  echo "Installing postgresql (the integration suite also runs on a private PostgreSQL cluster)..."
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq && $sudo apt-get install -y -qq postgresql >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
  # The package starts a system cluster on 5432; the tests bring their own.
  $sudo service postgresql stop >/dev/null 2>&1 || true
fi

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT

dotnet build Identity.sln -c Release -nologo -clp:ErrorsOnly || { echo "0 passed, 1 failed"; exit 1; }
status=0
for project in tests/*/*.csproj; do
  name="$(basename "$project" .csproj)"
  dotnet test "$project" -c Release --no-build -nologo \
    --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=minimal" --results-directory "$results" || status=$?
done
echo "== integration tests on PostgreSQL"
IDENTITY_TEST_STORE=Postgres dotnet test tests/Identity.IntegrationTests/Identity.IntegrationTests.csproj -c Release --no-build -nologo \
  --logger "trx;LogFileName=Identity.IntegrationTests.Postgres.trx" --logger "console;verbosity=minimal" --results-directory "$results" || status=$?

passed=0; failed=0; files=0
for trx in "$results"/*.trx; do
  [ -e "$trx" ] || continue
  files=$((files + 1))
  counters=$(grep -o '<Counters [^>]*>' "$trx")
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")
  f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  e=$(sed -n 's/.* error="\([0-9]*\)".*/\1/p' <<<"$counters")
  t=$(sed -n 's/.* timeout="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0}))
  failed=$((failed + ${f:-0} + ${e:-0} + ${t:-0}))
done

if [ "$files" -eq 0 ] || [ "$passed" -eq 0 ]; then
  echo "No test results were produced."
  [ "$failed" -eq 0 ] && failed=1
fi
echo "$passed passed, $failed failed"
if [ "$status" -ne 0 ] || [ "$failed" -ne 0 ]; then
  exit 1
fi
