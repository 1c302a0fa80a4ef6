#!/usr/bin/env bash
# Legacy import benchmark, end to end on this machine: CLI -> server -> SQLite.
#   1. builds Release (server, CLI, load tool);
#   2. generates a dirty legacy export (identity-load gen-legacy) and its expected counts;
#   3. starts a server on a fresh data directory, seeds SEED_MEMBERS members through the API (the POS key space) and
#      measures ResolveMember p99 idle (resolve-phone at RESOLVE_IN_FLIGHT);
#   4. imports the export with `identity import` (the CLI) while the same resolve loop runs beside it, and reads the
#      server's peak RSS (VmHWM) at the end;
#   5. measures the baseline in the same run: plain batched INSERTs of one member row and its identity rows per line
#      of the same file into a freshly migrated database of the same schema (identity-load baseline-insert, no logic);
#   6. prints rows/s, elapsed, peak RSS, p99 idle vs during, the ratio to the baseline, the counts against the
#      expected ones, and the targets (60 s for 1,000,000 rows, ratio >= 0.3, p99 <= 5x idle, RSS <= 500 MB).
#
# Usage: bench/import.sh [--rows N]      (default 1000000; the machine is shared: --rows 200000 when it is loaded)
# Settings (environment): SEED=42, SEED_MEMBERS=20000, RESOLVE_IN_FLIGHT=2, BATCH_SIZE=1000, IN_FLIGHT=4,
#   IMPORT_CLIENT=cli|load (load = identity-load import, the load tool's plain streaming client), KEEP_TMP=1.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

ROWS=1000000
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) ROWS="$2"; shift 2 ;;
    *) echo "usage: bench/import.sh [--rows N]" >&2; exit 2 ;;
  esac
done
SEED="${SEED:-42}"
SEED_MEMBERS="${SEED_MEMBERS:-20000}"
RESOLVE_IN_FLIGHT="${RESOLVE_IN_FLIGHT:-2}"
BATCH_SIZE="${BATCH_SIZE:-1000}"
IN_FLIGHT="${IN_FLIGHT:-4}"
IMPORT_CLIENT="${IMPORT_CLIENT:-cli}"

SERVER_DLL="$ROOT/src/Identity.Service/bin/Release/net10.0/Identity.Service.dll"
LOAD_DLL="$ROOT/src/Identity.LoadTest/bin/Release/net10.0/identity-load.dll"
CLI_DLL="$ROOT/src/Identity.Cli/bin/Release/net10.0/identity.dll"

say() { printf '%s\n' "bench: $(date +%H:%M:%S) $*" >&2; }
fail() { say "$*"; exit 1; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/identity-import-bench.XXXXXX")" || fail "cannot create a temporary folder"
SERVER_PID=""
RESOLVE_PID=""
cleanup() {
  [ -n "$RESOLVE_PID" ] && kill "$RESOLVE_PID" 2>/dev/null
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  if [ "${KEEP_TMP:-0}" = 1 ]; then say "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# start_server DATA_DIR: starts a server, sets SERVER_PID and URL, waits until it is SERVING.
start_server() {
  local port; port="$(free_port)"
  URL="http://127.0.0.1:$port"
  # The JSON and management endpoints on free ports too: their defaults may be taken by another server on this machine.
  dotnet "$SERVER_DLL" --urls "$URL" --Kestrel:Endpoints:Http:Url=http://127.0.0.1:0 --Kestrel:Endpoints:Management:Url=http://127.0.0.1:0 \
    --Identity:DataDirectory="$1" --Logging:LogLevel:Default=Warning >"$1.log" 2>&1 &
  SERVER_PID=$!
  dotnet "$LOAD_DLL" wait --server "$URL" --timeout 120s >/dev/null 2>&1 || fail "the server did not become SERVING (log: $1.log)"
}

stop_server() {
  kill "$SERVER_PID" 2>/dev/null
  wait "$SERVER_PID" 2>/dev/null
  SERVER_PID=""
}

p99_of() { python3 -c 'import json,sys; r=json.loads(open(sys.argv[1]).readline()); print(r["p99_ms"]) if r["errors"] == 0 else sys.exit("resolve calls failed: %s" % r["errors_by_status"])' "$1"; }

say "building Release (server, CLI, load tool)"
for project in src/Identity.Service src/Identity.Cli src/Identity.LoadTest; do
  dotnet build "$project" -c Release -nologo -clp:ErrorsOnly >"$TMP/build.log" 2>&1 || { cat "$TMP/build.log" >&2; fail "build of $project failed"; }
done

say "generating $ROWS rows (seed $SEED)"
dotnet "$LOAD_DLL" gen-legacy --rows "$ROWS" --seed "$SEED" --out "$TMP/legacy.csv" >&2 || fail "gen-legacy failed"

say "baseline schema: a fresh server migrates an empty database, then stops"
mkdir -p "$TMP/baseline"
start_server "$TMP/baseline"
stop_server

say "server on a fresh data directory; seeding $SEED_MEMBERS members for the resolve loop"
mkdir -p "$TMP/data"
start_server "$TMP/data"
ADMIN_KEY_FILE="$TMP/data/admin.key"
# create_client ROLE NAME: a client without a practical rate limit (the bootstrap key's limit would throttle the loops).
create_client() {
  local json
  json="$(dotnet "$CLI_DLL" --server "$URL" --key-file "$ADMIN_KEY_FILE" --json clients create --name "$2" --role "$1" --rps 1000000 2>"$TMP/cli.log")" ||
    { cat "$TMP/cli.log" >&2; fail "identity clients create failed"; }
  printf '%s\n' "$json" | sed -n 's/^ *"key": *"\([^"]*\)".*$/\1/p' | head -n 1 >"$TMP/$2.key"
  [ -s "$TMP/$2.key" ] || fail "found no key in the output of identity clients create"
}
create_client admin bench-import
create_client pos bench-pos
KEY_FILE="$TMP/bench-import.key"
POS_KEY_FILE="$TMP/bench-pos.key"
dotnet "$LOAD_DLL" seed --server "$URL" --key-file "$KEY_FILE" --members "$SEED_MEMBERS" >&2 || fail "seeding failed"

say "ResolveMember idle: resolve-phone at $RESOLVE_IN_FLIGHT in flight, 10 s"
dotnet "$LOAD_DLL" run --server "$URL" --key-file "$POS_KEY_FILE" --scenario resolve-phone --members "$SEED_MEMBERS" \
  --in-flight "$RESOLVE_IN_FLIGHT" --connections 1 --warmup 3s --duration 10s --json "$TMP/idle.jsonl" >/dev/null 2>&1 || fail "idle resolve run failed"
IDLE_P99="$(p99_of "$TMP/idle.jsonl")"

say "importing with $IMPORT_CLIENT while resolve-phone runs beside it"
dotnet "$LOAD_DLL" run --server "$URL" --key-file "$POS_KEY_FILE" --scenario resolve-phone --members "$SEED_MEMBERS" \
  --in-flight "$RESOLVE_IN_FLIGHT" --connections 1 --warmup 2s --duration "${RESOLVE_DURATION:-20s}" --json "$TMP/busy.jsonl" >/dev/null 2>&1 &
RESOLVE_PID=$!
START_NS=$(date +%s%N)
if [ "$IMPORT_CLIENT" = cli ]; then
  dotnet "$CLI_DLL" --server "$URL" --key-file "$KEY_FILE" --json import "$TMP/legacy.csv" --source bench --import-id bench-import \
    --batch-size "$BATCH_SIZE" --in-flight "$IN_FLIGHT" >"$TMP/import.out" 2>"$TMP/import.err" || { cat "$TMP/import.err" >&2; fail "the import failed"; }
else
  dotnet "$LOAD_DLL" import "$TMP/legacy.csv" --server "$URL" --key-file "$KEY_FILE" --source bench --import-id bench-import \
    --batch "$BATCH_SIZE" --ahead "$IN_FLIGHT" >"$TMP/import.out" 2>"$TMP/import.err" || { cat "$TMP/import.err" >&2; fail "the import failed"; }
fi
END_NS=$(date +%s%N)
wait "$RESOLVE_PID"; RESOLVE_PID=""
BUSY_P99="$(p99_of "$TMP/busy.jsonl")"
RSS_KB="$(awk '/VmHWM/ {print $2}' "/proc/$SERVER_PID/status")"
ELAPSED="$(python3 -c "print(($END_NS - $START_NS) / 1e9)")"
VERIFY="$(dotnet "$CLI_DLL" --server "$URL" --key-file "$KEY_FILE" --timeout 600 ledger verify 2>&1 | tail -1)"
stop_server

say "baseline: plain batched inserts of the same rows into the fresh schema"
BASE_OUT="$(dotnet "$LOAD_DLL" baseline-insert "$TMP/legacy.csv" --database "$TMP/baseline/identity.db" --batch "$BATCH_SIZE")" || fail "baseline failed"
BASE_RATE="$(sed -E 's/.*\(([0-9]+) rows\/s\).*/\1/' <<<"$BASE_OUT")"

say "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$ROWS" "$ELAPSED" "$RSS_KB" "$IDLE_P99" "$BUSY_P99" "$BASE_RATE" "$TMP/legacy.csv.expected.json" "$TMP/import.out" "$IMPORT_CLIENT" "$VERIFY" <<'EOF'
import json, sys
rows, elapsed, rss_kb, idle, busy, base = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
expected = json.load(open(sys.argv[7]))
out = open(sys.argv[8]).read()
rate = rows / elapsed
ratio = rate / base if base else 0
target_s = 60 * rows / 1_000_000
print(f"import of {rows} rows via {sys.argv[9]}: {elapsed:.1f} s, {rate:,.0f} rows/s")
print(f"baseline (plain batched inserts, same file, same schema): {base:,.0f} rows/s; ratio {ratio:.2f} (target >= 0.3: {'reached' if ratio >= 0.3 else 'missed'})")
print(f"time: {elapsed:.1f} s for {rows} rows (target {target_s:.0f} s pro rata of 60 s per million: {'reached' if elapsed <= target_s else 'missed'})")
print(f"server peak RSS (VmHWM): {rss_kb / 1024:.0f} MB (target <= 500 MB: {'reached' if rss_kb <= 500 * 1024 else 'missed'})")
print(f"ResolveMember p99: idle {idle:.2f} ms, during the import {busy:.2f} ms, x{busy / idle if idle else 0:.1f} (target <= 5x: {'reached' if busy <= 5 * idle else 'missed'})")
print(f"expected: {expected['created']} created, {expected['merged']} merged, {expected['rejected']} rejected, {expected['points_migrated']} points")
print(f"ledger verify: {sys.argv[10]}")
print("import output:", out.strip()[-600:])
EOF
