#!/usr/bin/env bash
# Load benchmark of the Identity service on this machine, end to end, in every cache mode:
#   builds Release (server, load tool, CLI), starts Redis on a free loopback port, then for each cache mode starts a
#   server on one shared data directory (seeded once, through the public API), primes it, drives each scenario with a
#   fixed number of calls in flight (src/Identity.LoadTest, `identity-load`) and stops it. At the end it prints one
#   The load runs as its own client, created with the bootstrap admin key the first server start wrote (admin.key).
#   Markdown table with each scenario's throughput as a ratio to the gRPC health check measured on the SAME server
#   process at the same in-flight (the baseline: the same HTTP/2 and gRPC stack, no storage, no domain), then the
#   Redis-stopped figure against the Redis-up one, the server's RSS after the hot mode, the ledger check and the
#   product targets, each marked reached or not.
#
# Modes (MODES, run in the order given; redis-stopped always runs last, since it kills Redis):
#   hot            L1 (in process) + L2 Redis: SCENARIOS at IN_FLIGHT, then LOW_SCENARIOS at LOW_IN_FLIGHT
#   redis-only     L1 off, Redis on (--Identity:Cache:L1Enabled=false): MODE_SCENARIOS at IN_FLIGHT
#   cold           no cache at all, every read from SQLite (--Identity:Cache:Enabled=false), no Redis: MODE_SCENARIOS
#   redis-stopped  as hot: health at IN_FLIGHT, then resolve-phone at IN_FLIGHT while Redis is killed REDIS_STOP_AT
#                  of the way into the measured window (Redis is not restarted)
#   l1-only        not in the default: L1 only, no Redis configured: MODE_SCENARIOS at IN_FLIGHT
#   hot-telemetry-off  not in the default: as hot with --Identity:Telemetry:Enabled=false: MODE_SCENARIOS at IN_FLIGHT
#                  (run it beside hot, e.g. MODES="hot hot-telemetry-off", to measure what telemetry costs)
#   hot-traced     not in the default: as hot, with traces recorded and exported over OTLP to a local port nothing
#                  listens on (export fails quietly; the cost of recording is what is measured): MODE_SCENARIOS
#   postgres       not in the default: the same server on PostgreSQL (a private cluster the script starts in a temporary
#                  folder, as the tests do, seeded once through the API): hot (L1 + Redis) SCENARIOS at IN_FLIGHT and
#                  REPLAY_SCENARIOS at REPLAY_IN_FLIGHT, then
#                  postgres-cold (no cache) PG_COLD_SCENARIOS at IN_FLIGHT; the ledger is verified after the hot part
#
# Everything it starts is stopped on exit; the data lives in a temporary folder that is removed (unless DATA_DIR).
# Exits non-zero only when something it needs failed (build, server start, seeding, the load tool); calls that fail
# during a scenario are counted in the table, and missed targets are reported, not treated as a failure of the script.
#
# Settings (environment variables):
#   MODES="hot redis-only cold redis-stopped"
#   MEMBERS=100000        members to seed, and the key space of the scenarios
#   DURATION=20s          measured time per scenario (after WARMUP)
#   WARMUP=3s             unmeasured warm-up per scenario
#   IN_FLIGHT=64          calls in flight for SCENARIOS, MODE_SCENARIOS and redis-stopped
#   LOW_IN_FLIGHT=8       calls in flight for LOW_SCENARIOS (hot mode)
#   SCENARIOS="health resolve-phone resolve-openid order mix"   hot mode at IN_FLIGHT
#   LOW_SCENARIOS="health resolve-phone"                        hot mode at LOW_IN_FLIGHT
#   REPLAY_IN_FLIGHT=4    calls in flight for REPLAY_SCENARIOS (hot and postgres modes): each replay call carries 100 orders
#   REPLAY_SCENARIOS="health replay"  hot and postgres modes at REPLAY_IN_FLIGHT: RecordOrders batches (orders/s = req/s x 100), with
#                         its own health baseline; "" to skip
#   MODE_SCENARIOS="health resolve-phone"                       redis-only, cold and l1-only at IN_FLIGHT
#   PG_COLD_SCENARIOS="health resolve-phone order mix"          postgres mode, no cache, at IN_FLIGHT
#   PG_POOL=100           postgres mode: the server's Npgsql pool size (Maximum Pool Size)
#   PG_STATEMENTS=0       postgres mode: 1 loads pg_stat_statements and prints, after the hot part, the statements that
#                         took most of PostgreSQL's time in the measured scenarios (calls, execution and planning ms,
#                         rows, buffers per call) and each table's row churn
#   CONNECTIONS=4         HTTP/2 connections of the load tool
#   ZIPF=1.0              Zipf exponent of the member keys (0 = uniform)
#   SEED=42               seed of the key sequences
#   PRIME=5s              after each server start, each of the mode's scenarios runs this long unmeasured, once, so the
#                         first measured scenario does not pay for JIT (tier-0 code) and cold caches; 0 to skip
#   REDIS_STOP_AT=1/3     redis-stopped: when Redis is killed, as a fraction of DURATION after the window opens
#   REDIS_STOP=kill       redis-stopped: kill (SIGKILL) or shutdown (redis-cli shutdown nosave)
#   DATA_DIR=DIR          the server's data directory (SQLite file, phone keys); kept, so a second run seeds quickly.
#                         Default: a folder inside the temporary folder, removed at the end
#   SERVER_LOG_LEVEL=Warning   the server's default log level (Information logs every enrolment)
#   BENCH_OUT=DIR         also keep results.jsonl, table.md and the logs there
#   KEEP_TMP=1            keep the temporary folder (data, logs) for inspection
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

MODES="${MODES:-hot redis-only cold redis-stopped}"
MEMBERS="${MEMBERS:-100000}"
DURATION="${DURATION:-20s}"
WARMUP="${WARMUP:-3s}"
IN_FLIGHT="${IN_FLIGHT:-64}"
LOW_IN_FLIGHT="${LOW_IN_FLIGHT:-8}"
SCENARIOS="${SCENARIOS:-health resolve-phone resolve-openid order mix}"
LOW_SCENARIOS="${LOW_SCENARIOS-health resolve-phone}"
REPLAY_IN_FLIGHT="${REPLAY_IN_FLIGHT:-4}"
REPLAY_SCENARIOS="${REPLAY_SCENARIOS-health replay}"
MODE_SCENARIOS="${MODE_SCENARIOS:-health resolve-phone}"
PG_COLD_SCENARIOS="${PG_COLD_SCENARIOS:-health resolve-phone order mix}"
PG_POOL="${PG_POOL:-100}"
PG_STATEMENTS="${PG_STATEMENTS:-0}"
CONNECTIONS="${CONNECTIONS:-4}"
ZIPF="${ZIPF:-1.0}"
SEED="${SEED:-42}"
PRIME="${PRIME:-5s}"
REDIS_STOP_AT="${REDIS_STOP_AT:-1/3}"
REDIS_STOP="${REDIS_STOP:-kill}"
SERVER_LOG_LEVEL="${SERVER_LOG_LEVEL:-Warning}"

SERVER_DLL="$ROOT/src/Identity.Service/bin/Release/net10.0/Identity.Service.dll"
LOAD_DLL="$ROOT/src/Identity.LoadTest/bin/Release/net10.0/identity-load.dll"
CLI_DLL="$ROOT/src/Identity.Cli/bin/Release/net10.0/identity.dll"
STARTED_AT=$SECONDS

say() { printf '%s\n' "bench: $(date +%H:%M:%S) $*" >&2; }
fail() { say "$*"; exit 1; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/identity-bench.XXXXXX")" || fail "cannot create a temporary folder"
DATA_DIR="${DATA_DIR:-$TMP/data}"
SERVER_PID=""
REDIS_PID=""
REDIS_PORT=""
LOAD_PID=""
PG_DIR=""
PG_BIN=""
PG_PORT=""

stop_process() { # pid name
  local pid="$1" name="$2" i
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    sleep 0.2
  done
  say "$name (pid $pid) did not stop in 10 s; killing it"
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}

cleanup() {
  local status=$?
  stop_process "$LOAD_PID" identity-load
  stop_process "$SERVER_PID" server
  stop_process "$REDIS_PID" redis-server
  stop_postgres
  if [ -n "${BENCH_OUT:-}" ]; then
    mkdir -p "$BENCH_OUT" && cp -f "$TMP"/*.jsonl "$TMP"/*.md "$TMP"/*.log "$BENCH_OUT"/ 2>/dev/null
  fi
  if [ "${KEEP_TMP:-0}" = 1 ]; then
    say "kept $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------------------------------
# Settings checks.

seconds_of() { # "20s" | "500ms" | "2m" | "1.5" -> seconds with 3 decimals; fails on anything else
  awk -v t="$1" 'BEGIN {
    s = 1
    if (t ~ /ms$/) { s = 0.001; sub(/ms$/, "", t) }
    else if (t ~ /[sS]$/) sub(/[sS]$/, "", t)
    else if (t ~ /[mM]$/) { s = 60; sub(/[mM]$/, "", t) }
    else if (t ~ /[hH]$/) { s = 3600; sub(/[hH]$/, "", t) }
    if (t !~ /^[0-9]+(\.[0-9]*)?$/) exit 1
    printf "%.3f", t * s
  }'
}
fraction_of() { # "1/3" | "0.33" -> decimal in (0, 1)
  awk -v f="$1" 'BEGIN {
    n = split(f, part, "/")
    if (n == 2 && part[1] ~ /^[0-9.]+$/ && part[2] ~ /^[0-9.]+$/ && part[2] > 0) v = part[1] / part[2]
    else if (n == 1 && f ~ /^[0-9.]+$/) v = f + 0
    else exit 1
    if (v <= 0 || v >= 1) exit 1
    printf "%.4f", v
  }'
}

DURATION_S="$(seconds_of "$DURATION")" || { say "DURATION=$DURATION: write it as 20s, 500ms, 2m or a number of seconds"; exit 2; }

ORDERED_MODES=""
RUN_STOPPED=0
for mode in $MODES; do
  case "$mode" in
    hot | redis-only | cold | l1-only | hot-telemetry-off | hot-traced | postgres)
      case " $ORDERED_MODES " in *" $mode "*) ;; *) ORDERED_MODES+="$mode " ;; esac ;;
    redis-stopped) RUN_STOPPED=1 ;;
    *) say "MODES: unknown mode '$mode' (expected hot, redis-only, cold, redis-stopped, l1-only, hot-telemetry-off, hot-traced, postgres)"; exit 2 ;;
  esac
done
[ "$RUN_STOPPED" = 1 ] && ORDERED_MODES+="redis-stopped"
ORDERED_MODES="${ORDERED_MODES% }"
[ -n "$ORDERED_MODES" ] || { say "MODES is empty"; exit 2; }
if [ "$RUN_STOPPED" = 1 ]; then
  STOP_FRACTION="$(fraction_of "$REDIS_STOP_AT")" || { say "REDIS_STOP_AT=$REDIS_STOP_AT: a fraction between 0 and 1, e.g. 1/3 or 0.5"; exit 2; }
  STOP_DELAY="$(awk -v d="$DURATION_S" -v f="$STOP_FRACTION" 'BEGIN { printf "%.3f", d * f }')"
  case "$REDIS_STOP" in kill | shutdown) ;; *) say "REDIS_STOP=$REDIS_STOP: kill or shutdown"; exit 2 ;; esac
fi

mode_uses_redis() {
  case "$1" in hot | redis-only | redis-stopped | hot-telemetry-off | hot-traced | postgres) return 0 ;; *) return 1 ;; esac
}
mode_flags() { # mode -> MODE_ARGS (server flags besides the Redis address)
  MODE_ARGS=()
  case "$1" in
    redis-only) MODE_ARGS=(--Identity:Cache:L1Enabled=false) ;;
    cold) MODE_ARGS=(--Identity:Cache:Enabled=false) ;;
    hot-telemetry-off) MODE_ARGS=(--Identity:Telemetry:Enabled=false) ;;
    hot-traced) pick_port; MODE_ARGS=("--OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$PORT") ;;
    postgres) MODE_ARGS=("${PG_ARGS[@]}") ;;
    postgres-cold) MODE_ARGS=("${PG_ARGS[@]}" --Identity:Cache:Enabled=false) ;;
  esac
  # What the log line says about the flags (the PostgreSQL ones carry the phone keys).
  MODE_LABEL="${MODE_ARGS[*]:+ with ${MODE_ARGS[*]}}"
  case "$1" in
    postgres) MODE_LABEL=" on PostgreSQL" ;;
    postgres-cold) MODE_LABEL=" on PostgreSQL with --Identity:Cache:Enabled=false" ;;
  esac
}

# ---------------------------------------------------------------------------------------------------------------------
# PostgreSQL (postgres mode): a private cluster in a temporary folder owned by postgres (initdb refuses root), on a free
# loopback port, with the server's own database and shared phone keys; stopped and removed on exit.

PG_ARGS=()
pg_run() { # program args...: as postgres when root
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
start_postgres() {
  PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -x "$PG_BIN/initdb" ] || PG_BIN="$(dirname "$(command -v initdb 2>/dev/null)")"
  [ -x "$PG_BIN/initdb" ] || { say "PostgreSQL is not installed (apt-get install postgresql)"; return 1; }
  PG_DIR="$TMP/postgres"
  mkdir -p "$PG_DIR" && chmod 755 "$TMP"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$PG_DIR"
  pg_run "$PG_BIN/initdb" -D "$PG_DIR/data" -A trust -U identity -E UTF8 --locale=C >"$TMP/initdb.log" 2>&1 ||
    { cat "$TMP/initdb.log" >&2; return 1; }
  pick_port
  PG_PORT="$PORT"
  # Durable settings (fsync on): the figures are a real commit's. Small shared_buffers suit this 2-core machine.
  local extra=""
  [ "$PG_STATEMENTS" = 1 ] &&
    extra=" -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all -c pg_stat_statements.track_planning=on"
  pg_run "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 60 \
    -o "-p $PG_PORT -k $PG_DIR/data -c listen_addresses=127.0.0.1 -c shared_buffers=256MB -c max_connections=300$extra" start >/dev/null ||
    { tail -5 "$PG_DIR/server.log" >&2; return 1; }
  local keys
  keys="$(head -c 32 /dev/urandom | base64) $(head -c 32 /dev/urandom | base64)"
  PG_ARGS=(--Identity:Store:Provider=Postgres
    "--Identity:Store:ConnectionString=Host=127.0.0.1;Port=$PG_PORT;Username=identity;Database=postgres;Maximum Pool Size=$PG_POOL"
    "--Identity:Keys:PhoneEncryptionKey=${keys% *}" "--Identity:Keys:PhoneIndexKey=${keys#* }")
  say "PostgreSQL $("$PG_BIN/postgres" --version | awk '{ print $3 }') on 127.0.0.1:$PG_PORT"
}
stop_postgres() {
  [ -n "$PG_DIR" ] && [ -d "$PG_DIR/data" ] || return 0
  pg_run "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1
  PG_DIR=""
}
pg_query() { # sql -> one value
  "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U identity -d postgres -Atc "$1" 2>/dev/null
}
pg_statements_reset() {
  [ "$PG_STATEMENTS" = 1 ] || return 0
  pg_query "CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset();" >/dev/null || true
}
pg_statements_report() { # where PostgreSQL's time went since the reset, and each table's churn
  [ "$PG_STATEMENTS" = 1 ] || return 0
  say "[postgres] statements by PostgreSQL time (calls | execution ms | mean ms | planning ms | rows | buffers per call | statement)"
  "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U identity -d postgres -At -F ' | ' -c \
    "SELECT calls, round(total_exec_time::numeric), round(mean_exec_time::numeric, 3), round(total_plan_time::numeric), rows,
            round((shared_blks_hit + shared_blks_read)::numeric / greatest(calls, 1), 1),
            left(regexp_replace(query, '\\s+', ' ', 'g'), 160)
     FROM pg_stat_statements ORDER BY total_exec_time + total_plan_time DESC LIMIT 25;" 2>/dev/null || true
  say "[postgres] tables (name | inserts | updates | HOT updates | deletes | live | dead | autovacuums)"
  "$PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U identity -d postgres -At -F ' | ' -c \
    "SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, n_tup_del, n_live_tup, n_dead_tup, autovacuum_count
     FROM pg_stat_user_tables WHERE n_tup_ins + n_tup_upd + n_tup_del > 0 ORDER BY relname;" 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------------------------------
# Free loopback ports. Below the kernel's ephemeral range (32768+), so client sockets never take them first; never 5100
# (the service's default, which a developer's server may hold).

PICKED_PORTS=" 5100 "
port_in_use() {
  if command -v ss >/dev/null 2>&1; then
    ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
  else
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
  fi
}
pick_port() { # sets PORT
  local tries=0 candidate
  while [ "$tries" -lt 500 ]; do
    tries=$((tries + 1))
    candidate=$((20000 + (RANDOM * 32768 + RANDOM) % 12000))
    case "$PICKED_PORTS" in *" $candidate "*) continue ;; esac
    port_in_use "$candidate" && continue
    PICKED_PORTS+="$candidate "
    PORT="$candidate"
    return 0
  done
  fail "found no free loopback port"
}

install_redis() {
  command -v redis-server >/dev/null 2>&1 && return 0
  say "redis-server is missing: installing it (apt-get install -y redis-server)"
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    command -v sudo >/dev/null 2>&1 || { say "not root and no sudo: cannot install redis-server"; return 1; }
    sudo="sudo"
  fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$TMP/apt.log" 2>&1 &&
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >>"$TMP/apt.log" 2>&1 ||
    { say "apt-get failed (log: $TMP/apt.log)"; tail -5 "$TMP/apt.log" >&2; return 1; }
  command -v redis-server >/dev/null 2>&1
}

redis_ping() {
  local reply=""
  { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  IFS= read -r -t 2 reply <&3
  exec 3>&- 3<&-
  [ "${reply%$'\r'}" = "+PONG" ]
}

start_redis() {
  install_redis || return 1
  local attempt i
  for attempt in 1 2 3; do
    pick_port
    mkdir -p "$TMP/redis"
    redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --daemonize no \
      --dir "$TMP/redis" --logfile "$TMP/redis.log" &
    REDIS_PID=$!
    for i in $(seq 1 50); do
      if redis_ping "$PORT"; then
        REDIS_PORT="$PORT"
        say "redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') on 127.0.0.1:$REDIS_PORT (pid $REDIS_PID)"
        return 0
      fi
      kill -0 "$REDIS_PID" 2>/dev/null || break
      sleep 0.1
    done
    stop_process "$REDIS_PID" redis-server
    REDIS_PID=""
    say "redis-server did not answer on port $PORT (attempt $attempt)"
  done
  tail -5 "$TMP/redis.log" >&2 2>/dev/null
  return 1
}

stop_redis_now() { # the redis-stopped mode's outage: abrupt, no save
  case "$REDIS_STOP" in
    shutdown) redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || kill -KILL "$REDIS_PID" 2>/dev/null ;;
    *) kill -KILL "$REDIS_PID" 2>/dev/null ;;
  esac
  wait "$REDIS_PID" 2>/dev/null
  REDIS_PID=""
}

start_server() { # mode: a server on DATA_DIR with the mode's flags
  local mode="$1" attempt args log="$TMP/server-$1.log"
  mode_flags "$mode"
  for attempt in 1 2 3; do
    pick_port
    SERVER_URL="http://127.0.0.1:$PORT"
    args=(--urls "$SERVER_URL" "--Kestrel:Endpoints:Http:Url=http://127.0.0.1:0" "--Kestrel:Endpoints:Management:Url=http://127.0.0.1:0" "--Identity:DataDirectory=$(data_dir_of "$mode")" "--Logging:LogLevel:Default=$SERVER_LOG_LEVEL")
    mode_uses_redis "$mode" && args+=("--Redis:Configuration=127.0.0.1:$REDIS_PORT")
    args+=("${MODE_ARGS[@]}")
    dotnet "$SERVER_DLL" "${args[@]}" >"$log" 2>&1 &
    SERVER_PID=$!
    # Ask for SERVING in short rounds, so a server that dies at start-up is noticed at once.
    local until=$((SECONDS + 60))
    while [ "$SECONDS" -lt "$until" ] && kill -0 "$SERVER_PID" 2>/dev/null; do
      if dotnet "$LOAD_DLL" wait --server "$SERVER_URL" --timeout 2s >/dev/null 2>"$TMP/wait.log"; then
        say "[$mode] server on $SERVER_URL (pid $SERVER_PID)${MODE_LABEL}$(mode_uses_redis "$mode" && echo ", Redis 127.0.0.1:$REDIS_PORT" || echo ", no Redis")"
        return 0
      fi
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      say "the server did not become SERVING on port $PORT within 60 s: $(cat "$TMP/wait.log")"
    else
      say "the server exited at start-up; its log ends:"
    fi
    tail -15 "$log" >&2
    stop_process "$SERVER_PID" server
    SERVER_PID=""
    # Only a lost race for the port is worth another try.
    grep -qi "address already in use" "$log" || return 1
  done
  return 1
}

data_dir_of() { # mode -> the server's data directory (PostgreSQL keeps only the bootstrap key there)
  case "$1" in postgres*) echo "$TMP/pg-data" ;; *) echo "$DATA_DIR" ;; esac
}

rss_kb_of() { # pid -> VmRSS in kB, or nothing
  [ -n "$1" ] && [ -r "/proc/$1/status" ] || return 0
  awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

report_exit() { # pid name log: say so when a process we started is gone before its time
  local code
  [ -n "$1" ] || return 0
  kill -0 "$1" 2>/dev/null && return 0
  wait "$1" 2>/dev/null
  code=$?
  say "$2 exited before the end of the run (exit status $code$([ "$code" -gt 128 ] && echo ", signal $((code - 128))")); its log ends:"
  tail -15 "$3" >&2
  STATUS=1
}

# ---------------------------------------------------------------------------------------------------------------------

command -v dotnet >/dev/null 2>&1 || fail "dotnet is not on PATH (the .NET 10 SDK is needed)"

say "modes: $ORDERED_MODES; $MEMBERS members, $WARMUP warm-up + $DURATION per scenario, data in $DATA_DIR"
say "building Release (server, load tool, CLI)"
for project in src/Identity.Service src/Identity.LoadTest src/Identity.Cli; do
  dotnet build "$project" -c Release -nologo -v quiet -clp:ErrorsOnly >"$TMP/build.log" 2>&1 ||
    { cat "$TMP/build.log" >&2; fail "build of $project failed"; }
done

for mode in $ORDERED_MODES; do
  if mode_uses_redis "$mode"; then
    start_redis || fail "redis-server did not start, and mode $mode needs it"
    break
  fi
done

# The load runs as a client of its own (pos role, as a till fleet would be: not audited, a rate limit no run reaches), created
# with the bootstrap admin key the server wrote at its first start. Its key is never printed.
BENCH_KEY=""
KEY_ARGS=()
create_bench_client() { # [data dir]
  local admin_key="${1:-$DATA_DIR}/admin.key" i json
  # The key file may appear a moment after the server answers SERVING.
  for i in $(seq 1 50); do
    [ -s "$admin_key" ] && break
    sleep 0.1
  done
  if [ ! -s "$admin_key" ]; then
    say "WARNING: the server wrote no $admin_key (a server without authentication?): the load runs without a key"
    return 0
  fi
  json="$(dotnet "$CLI_DLL" --server "$SERVER_URL" --key-file "$admin_key" --json \
    clients create --name "bench-$(date +%s)-$$" --role pos --rps 1000000 2>"$TMP/cli.log")" ||
    { cat "$TMP/cli.log" >&2; say "identity clients create failed"; return 1; }
  # protobuf JSON, one field per line: `  "key": "..."` (the client's own fields are nested under "client").
  BENCH_KEY="$(printf '%s\n' "$json" | sed -n 's/^ *"key": *"\([^"]*\)".*$/\1/p' | head -n 1)"
  [ -n "$BENCH_KEY" ] || { say "found no key in the output of identity clients create"; return 1; }
  KEY_ARGS=(--key "$BENCH_KEY")
  say "created client 'bench' (pos, 1000000 requests/s) for the load"
}

LOAD=(dotnet "$LOAD_DLL")
RESULTS="$TMP/results.jsonl"
: >"$RESULTS"
STATUS=0
SEEDED=0
HOT_RSS_KB=""
VERIFY_TEXT=""
VERIFY_EXIT=""
DUPLICATES=""
STOP_NOTE=""

seed_once() {
  [ "$SEEDED" = 1 ] && return 0
  create_bench_client || fail "could not create the load's client"
  say "seeding $MEMBERS members (once; later modes reuse $DATA_DIR)"
  "${LOAD[@]}" seed "${KEY_ARGS[@]}" --server "$SERVER_URL" --members "$MEMBERS" || fail "seeding failed"
  SEEDED=1
}

SQLITE_KEY_ARGS=()
seed_postgres() { # the PostgreSQL database is seeded once, with a client of its own
  SQLITE_KEY_ARGS=("${KEY_ARGS[@]}")
  create_bench_client "$TMP/pg-data" || fail "could not create the load's client on PostgreSQL"
  say "seeding $MEMBERS members into PostgreSQL"
  "${LOAD[@]}" seed "${KEY_ARGS[@]}" --server "$SERVER_URL" --members "$MEMBERS" || fail "seeding PostgreSQL failed"
}

prime() { # scenarios...: one unmeasured pass over every distinct scenario
  local scenarios
  scenarios="$(printf '%s\n' "$@" | awk 'NF && !seen[$0]++' | paste -sd, -)"
  case "$PRIME" in 0 | 0s | "") return 0 ;; esac
  [ -n "$scenarios" ] || return 0
  say "priming: $scenarios, $PRIME each, not measured"
  "${LOAD[@]}" run "${KEY_ARGS[@]}" --server "$SERVER_URL" --members "$MEMBERS" --connections "$CONNECTIONS" --zipf "$ZIPF" \
    --seed "$((SEED + 1))" --in-flight "$IN_FLIGHT" --warmup "$PRIME" --duration 1s --scenario "$scenarios" \
    >"$TMP/prime.log" 2>&1 || { cat "$TMP/prime.log" >&2; say "the load tool failed while priming"; STATUS=1; }
}

warm() { # fill the caches: every member once by phone and by openid (seconds: WARM, or MEMBERS/400 capped at 90)
  local seconds="${WARM:-$(( MEMBERS / 400 < 5 ? 5 : (MEMBERS / 400 > 90 ? 90 : MEMBERS / 400) ))}"
  say "warming the caches: every member in turn, ${seconds} s, not measured"
  "${LOAD[@]}" run "${KEY_ARGS[@]}" --server "$SERVER_URL" --members "$MEMBERS" --connections "$CONNECTIONS" \
    --in-flight "$IN_FLIGHT" --warmup 1s --duration "${seconds}s" --scenario warm \
    >"$TMP/warm.log" 2>&1 || { cat "$TMP/warm.log" >&2; say "the load tool failed while warming"; STATUS=1; }
}

tag_results() { # mode file [extra json fields]: append the file's lines to RESULTS with the mode (and extras) in front
  local fields="\"mode\":\"$1\"${3:+,$3}"
  [ -s "$2" ] && sed "s/^{/{$fields,/" "$2" >>"$RESULTS"
  rm -f "$2"
}

run_level() { # mode in-flight scenarios...
  local mode="$1" in_flight="$2" out="$TMP/level.jsonl"
  shift 2
  [ "$#" -gt 0 ] || return 0
  say "[$mode] $* at $in_flight in flight, $WARMUP warm-up + $DURATION each"
  rm -f "$out"
  "${LOAD[@]}" run "${KEY_ARGS[@]}" --server "$SERVER_URL" --members "$MEMBERS" --duration "$DURATION" --warmup "$WARMUP" \
    --connections "$CONNECTIONS" --zipf "$ZIPF" --seed "$SEED" --json "$out" \
    --in-flight "$in_flight" --scenario "$(IFS=,; echo "$*")" >&2 ||
    { say "the load tool failed (exit $?)"; STATUS=1; }
  tag_results "$mode" "$out"
}

run_with_redis_stop() { # resolve-phone at IN_FLIGHT; Redis stopped STOP_DELAY s into the measured window
  local out="$TMP/level.jsonl" mark="$TMP/measuring.mark" give_up opened killed
  rm -f "$out" "$mark"
  say "[redis-stopped] resolve-phone at $IN_FLIGHT in flight, $WARMUP warm-up + $DURATION; Redis stopped ($REDIS_STOP) ${STOP_DELAY} s into the window"
  "${LOAD[@]}" run "${KEY_ARGS[@]}" --server "$SERVER_URL" --members "$MEMBERS" --duration "$DURATION" --warmup "$WARMUP" \
    --connections "$CONNECTIONS" --zipf "$ZIPF" --seed "$SEED" --json "$out" --mark-measuring "$mark" \
    --in-flight "$IN_FLIGHT" --scenario resolve-phone >&2 &
  LOAD_PID=$!
  give_up=$((SECONDS + $(seconds_of "$WARMUP" | cut -d. -f1) + 30))
  while [ ! -s "$mark" ] && kill -0 "$LOAD_PID" 2>/dev/null && [ "$SECONDS" -lt "$give_up" ]; do sleep 0.02; done
  if [ -s "$mark" ]; then
    opened=$(date +%s.%N)
    sleep "$STOP_DELAY"
    stop_redis_now
    killed=$(date +%s.%N)
    STOP_NOTE="$(awk -v a="$opened" -v b="$killed" -v d="$DURATION_S" 'BEGIN { printf "%.1f s into the %g s window", b - a, d }')"
    say "[redis-stopped] Redis stopped ($REDIS_STOP) $STOP_NOTE"
  else
    say "[redis-stopped] the measured window never opened; Redis was not stopped"
    STATUS=1
  fi
  wait "$LOAD_PID" || { say "the load tool failed (exit $?)"; STATUS=1; }
  LOAD_PID=""
  tag_results redis-stopped "$out" "\"redis_stopped\":\"${STOP_NOTE:-no}\""
}

ledger_check() { # after the hot mode's writes: the CLI's ledger verify, and duplicate order entries in SQLite
  say "[$1] identity ledger verify"
  VERIFY_TEXT="$(dotnet "$CLI_DLL" --server "$SERVER_URL" --key-file "$(data_dir_of "$1")/admin.key" --timeout 600 ledger verify 2>&1)"
  VERIFY_EXIT=$?
  printf '%s\n' "$VERIFY_TEXT" | head -20 >&2
  if [ "$1" = postgres ]; then
    DUPLICATES="$(pg_query "SELECT count(*) FROM (SELECT 1 FROM points_entries WHERE \"Reference\" LIKE 'order:%' GROUP BY \"Kind\", \"Reference\" HAVING count(*) > 1) d;")"
    ORDERS="$(pg_query "SELECT count(*) FROM orders;")"
    say "[$1] orders: $ORDERS; order keys with more than one ledger entry: $DUPLICATES"
  elif command -v sqlite3 >/dev/null 2>&1 && [ -f "$DATA_DIR/identity.db" ]; then
    DUPLICATES="$(sqlite3 -readonly -cmd ".timeout 10000" "$DATA_DIR/identity.db" \
      "SELECT count(*) FROM (SELECT 1 FROM points_entries WHERE Reference LIKE 'order:%' GROUP BY Kind, Reference HAVING count(*) > 1);" 2>/dev/null)"
    ORDERS="$(sqlite3 -readonly -cmd ".timeout 10000" "$DATA_DIR/identity.db" "SELECT count(*) FROM orders;" 2>/dev/null)"
    say "[$1] orders: $ORDERS; order keys with more than one ledger entry: $DUPLICATES"
  fi
  # The write scenarios must leave the ledger exact: anything else fails the run, loudly.
  if [ "$VERIFY_EXIT" != 0 ] || ! printf '%s' "$VERIFY_TEXT" | grep -q "no discrepancy" || [ "${DUPLICATES:-0}" != 0 ]; then
    say "[$1] LEDGER NOT CLEAN after the write scenarios (verify exit $VERIFY_EXIT, $DUPLICATES duplicate order entries): see above"
    STATUS=1
  fi
}

for mode in $ORDERED_MODES; do
  if [ "$mode" = postgres ]; then
    start_postgres || fail "PostgreSQL did not start"
    start_server postgres || fail "the server did not start on PostgreSQL (log above)"
    seed_postgres
    warm
    # shellcheck disable=SC2086
    prime $SCENARIOS $REPLAY_SCENARIOS
    pg_statements_reset
    # shellcheck disable=SC2086
    run_level postgres "$IN_FLIGHT" $SCENARIOS
    # shellcheck disable=SC2086
    run_level postgres "$REPLAY_IN_FLIGHT" $REPLAY_SCENARIOS
    pg_statements_report
    report_exit "$SERVER_PID" server "$TMP/server-$mode.log"
    PG_RSS_KB="$(rss_kb_of "$SERVER_PID")"
    [ -n "$VERIFY_EXIT" ] && SQLITE_VERIFY=("$VERIFY_TEXT" "$VERIFY_EXIT" "$DUPLICATES")
    ledger_check postgres
    PG_VERIFY="$VERIFY_TEXT; order keys with more than one entry: $DUPLICATES"
    # The table's ledger target is the SQLite hot mode's; the PostgreSQL ledger gets its own line.
    if [ -n "${SQLITE_VERIFY[*]:-}" ]; then
      VERIFY_TEXT="${SQLITE_VERIFY[0]}"; VERIFY_EXIT="${SQLITE_VERIFY[1]}"; DUPLICATES="${SQLITE_VERIFY[2]}"
    else
      VERIFY_TEXT=""; VERIFY_EXIT=""; DUPLICATES=""
    fi
    stop_process "$SERVER_PID" server
    start_server postgres-cold || fail "the server did not start on PostgreSQL without a cache (log above)"
    # shellcheck disable=SC2086
    prime $PG_COLD_SCENARIOS
    # shellcheck disable=SC2086
    run_level postgres-cold "$IN_FLIGHT" $PG_COLD_SCENARIOS
    report_exit "$SERVER_PID" server "$TMP/server-postgres-cold.log"
    stop_process "$SERVER_PID" server
    SERVER_PID=""
    KEY_ARGS=("${SQLITE_KEY_ARGS[@]}")
    say "[postgres] write retries after lost races: see the server logs; ledger: $PG_VERIFY"
    continue
  fi
  start_server "$mode" || fail "the server did not start in mode $mode (log above)"
  seed_once
  case "$mode" in
    hot)
      # "Hot" means a warm cache, as at 8 pm on a member day: every member is cached before measuring.
      warm
      # shellcheck disable=SC2086 # word splitting of the scenario lists is intended
      prime $SCENARIOS $LOW_SCENARIOS
      # shellcheck disable=SC2086
      run_level hot "$IN_FLIGHT" $SCENARIOS
      # shellcheck disable=SC2086
      run_level hot "$LOW_IN_FLIGHT" $LOW_SCENARIOS
      # shellcheck disable=SC2086
      run_level hot "$REPLAY_IN_FLIGHT" $REPLAY_SCENARIOS
      HOT_RSS_KB="$(rss_kb_of "$SERVER_PID")"
      report_exit "$SERVER_PID" server "$TMP/server-$mode.log"
      ledger_check hot
      ;;
    redis-stopped)
      warm
      prime health resolve-phone
      run_level redis-stopped "$IN_FLIGHT" health
      run_with_redis_stop
      report_exit "$SERVER_PID" server "$TMP/server-$mode.log"
      ;;
    *)
      [ "$mode" = cold ] || warm
      # shellcheck disable=SC2086
      prime $MODE_SCENARIOS
      # shellcheck disable=SC2086
      run_level "$mode" "$IN_FLIGHT" $MODE_SCENARIOS
      report_exit "$SERVER_PID" server "$TMP/server-$mode.log"
      ;;
  esac
  report_exit "$REDIS_PID" redis-server "$TMP/redis.log"
  stop_process "$SERVER_PID" server
  SERVER_PID=""
done
stop_process "$REDIS_PID" redis-server
REDIS_PID=""

# ---------------------------------------------------------------------------------------------------------------------
# The table, from the JSON Lines the load tool wrote (flat objects; parsed with awk so no jq or python is needed).

[ -s "$RESULTS" ] || fail "no results were written"
VERIFY_PROBLEMS=""
if [ -n "$VERIFY_EXIT" ]; then
  if [ "$VERIFY_EXIT" = 0 ] && printf '%s' "$VERIFY_TEXT" | grep -q "no discrepancy"; then VERIFY_PROBLEMS=0; else VERIFY_PROBLEMS=1; fi
fi
{
  echo
  echo "Identity load benchmark: $(nproc) cores (load generator on the same machine), $MEMBERS members, zipf $ZIPF," \
    "$CONNECTIONS connections, $WARMUP warm-up + $DURATION per scenario, health baseline per server process"
  echo
  awk -v low="$LOW_IN_FLIGHT" -v high="$IN_FLIGHT" -v replay_in_flight="$REPLAY_IN_FLIGHT" -v rss_kb="$HOT_RSS_KB" -v verify="$(printf '%s' "$VERIFY_TEXT" | head -1)" \
    -v verify_problems="$VERIFY_PROBLEMS" -v duplicates="$DUPLICATES" -v stop_fraction="$REDIS_STOP_AT" \
    -v pg_verify="$(printf '%s' "${PG_VERIFY:-}" | head -1)" -v pg_rss_kb="${PG_RSS_KB:-}" '
    function num(line, key) {
      if (match(line, "\"" key "\":-?[0-9.eE+-]+")) return substr(line, RSTART + length(key) + 3, RLENGTH - length(key) - 3) + 0
      return ""
    }
    function str(line, key) {
      if (match(line, "\"" key "\":\"[^\"]*\"")) return substr(line, RSTART + length(key) + 4, RLENGTH - length(key) - 5)
      return ""
    }
    function codes(line,   text) {
      if (!match(line, "\"errors_by_status\":\\{[^}]*\\}")) return ""
      text = substr(line, RSTART + 20, RLENGTH - 21)
      gsub(/"/, "", text); gsub(/:/, " ", text); gsub(/,/, ", ", text)
      return text
    }
    function row(m, s, f) { return ((m SUBSEP s SUBSEP f) in at) ? at[m, s, f] : 0 }
    function ratio(i) { return (mode[i] SUBSEP inflight[i]) in baseline && baseline[mode[i], inflight[i]] > 0 ? rps[i] / baseline[mode[i], inflight[i]] : -1 }
    function fmt_ratio(r) { return r < 0 ? "n/a" : sprintf("%.2fx", r) }
    function mark(ok) { return ok ? "reached" : "**not reached**" }
    function target(text, figure, ok, known) {
      printf "| %s | %s | %s |\n", text, figure, known ? mark(ok) : "not measured"
    }
    NF {
      n++
      mode[n] = str($0, "mode"); scenario[n] = str($0, "scenario"); inflight[n] = num($0, "in_flight")
      rps[n] = num($0, "requests_per_second")
      p50[n] = num($0, "p50_ms"); p90[n] = num($0, "p90_ms"); p99[n] = num($0, "p99_ms"); p999[n] = num($0, "p999_ms")
      errors[n] = num($0, "errors"); detail[n] = codes($0); stopped[n] = str($0, "redis_stopped")
      at[mode[n], scenario[n], inflight[n]] = n
      if (scenario[n] == "health") baseline[mode[n], inflight[n]] = rps[n]
    }
    END {
      print "| mode | scenario | in flight | req/s | ratio to health | p50 ms | p90 ms | p99 ms | p99.9 ms | errors |"
      print "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
      for (i = 1; i <= n; i++) {
        err = errors[i] + 0
        if (err > 0 && detail[i] != "") err = err " (" detail[i] ")"
        name = scenario[i]
        if (stopped[i] != "") name = name ", Redis stopped " stopped[i]
        printf "| %s | %s | %d | %.0f | %s | %.3f | %.3f | %.3f | %.3f | %s |\n", mode[i], name, inflight[i], rps[i], fmt_ratio(ratio(i)), p50[i], p90[i], p99[i], p999[i], err
      }
      print ""
      hot = row("hot", "resolve-phone", high); down = row("redis-stopped", "resolve-phone", high)
      if (down) {
        printf "Redis stopped mid-run (redis-stopped, resolve-phone at %d, Redis stopped %s): %.0f req/s, %d errors; %s of its health baseline, ", high, stopped[down], rps[down], errors[down], fmt_ratio(ratio(down))
        if (hot) printf "%s of the Redis-up figure (hot resolve-phone at %d: %.0f req/s)\n", fmt_ratio(rps[down] / rps[hot]), high, rps[hot]
        else print "no Redis-up figure (mode hot did not run)"
      }
      if (rss_kb != "") printf "Server RSS after the hot mode run (VmRSS): %.1f MB (%.1f MiB)\n", rss_kb * 1024 / 1e6, rss_kb / 1024
      if (verify != "") printf "Ledger after the hot mode (identity ledger verify): %s%s\n", verify, duplicates != "" ? "; order keys with more than one entry: " duplicates : ""
      i = row("hot", "replay", replay_in_flight); j = row("hot", "order", high)
      if (i) printf "Batch replay (RecordOrders, 100 orders per call, %d calls in flight): %.0f orders/s; RecordOrder at %d in flight: %s orders/s\n", replay_in_flight, rps[i] * 100, high, j ? sprintf("%.0f", rps[j]) : "-"
      if (pg_verify != "") printf "Ledger after the postgres mode (identity ledger verify): %s\n", pg_verify
      if (pg_rss_kb != "") printf "Server RSS after the postgres mode run (VmRSS): %.1f MB\n", pg_rss_kb * 1024 / 1e6
      print ""
      print "| target | figure | result |"
      print "| --- | --- | --- |"
      i = hot
      target("hot resolve-phone (L1 hit) >= 1.0x health at " high " in flight", i ? fmt_ratio(ratio(i)) : "-", i && ratio(i) >= 1.0, i)
      i = row("redis-only", "resolve-phone", high)
      target("L1 off + Redis: resolve-phone >= 0.6x health at " high, i ? fmt_ratio(ratio(i)) : "-", i && ratio(i) >= 0.6, i)
      i = row("cold", "resolve-phone", high)
      target("cold (no cache): resolve-phone >= 0.2x health at " high, i ? fmt_ratio(ratio(i)) : "-", i && ratio(i) >= 0.2, i)
      i = row("hot", "resolve-phone", low)
      target("hot resolve-phone p99 <= 1 ms at " low " in flight", i ? sprintf("%.3f ms", p99[i]) : "-", i && p99[i] <= 1, i)
      target("hot resolve-phone p99 <= 5 ms at " high " in flight", hot ? sprintf("%.3f ms", p99[hot]) : "-", hot && p99[hot] <= 5, hot)
      target("Redis stopped mid-run: zero errors", down ? errors[down] " errors" : "-", down && errors[down] == 0, down)
      target("Redis stopped mid-run: >= 0.8x the Redis-up figure", down && hot ? fmt_ratio(rps[down] / rps[hot]) : "-", down && hot && rps[down] >= 0.8 * rps[hot], down && hot)
      i = row("hot", "order", high)
      target("order >= 0.05x health at " high, i ? fmt_ratio(ratio(i)) : "-", i && ratio(i) >= 0.05, i)
      i = row("hot", "mix", high)
      target("90/10 resolve/order mix >= 0.5x health at " high, i ? fmt_ratio(ratio(i)) : "-", i && ratio(i) >= 0.5, i)
      i = row("postgres", "order", high)
      target("PostgreSQL, one instance: order >= 0.05x health at " high, i ? fmt_ratio(ratio(i)) : "-", i && ratio(i) >= 0.05, i)
      target("order: zero duplicate entries, ledger verify clean", verify_problems == "" ? "-" : verify (duplicates != "" ? "; " duplicates " duplicate order entries" : ""), verify_problems == 0 && (duplicates == "" || duplicates == 0), verify_problems != "")
      target("server RSS <= 300 MB (after the hot mode)", rss_kb != "" ? sprintf("%.1f MB", rss_kb * 1024 / 1e6) : "-", rss_kb != "" && rss_kb * 1024 <= 300e6, rss_kb != "")
    }
  ' "$RESULTS"
  echo
  echo "Total time: $((SECONDS - STARTED_AT)) s"
} | tee "$TMP/table.md"

exit "$STATUS"
