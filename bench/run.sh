#!/usr/bin/env bash
# Load benchmark of the Identity service on this machine, end to end:
#   builds Release, starts Redis (when the scenarios need it) and a fresh server on free loopback ports, creates a
#   client for the load with the server's bootstrap admin key (identity clients create), seeds members through the
#   public API with that client's key, drives each scenario with a fixed number of calls in flight
#   (src/Identity.LoadTest, `identity-load`), then prints a Markdown table with each scenario's throughput as a ratio
#   to the gRPC health check at the same in-flight (the baseline: the same server, HTTP/2 and gRPC stack, no storage,
#   no domain).
#
# Everything it starts is stopped on exit; the data lives in a temporary folder that is removed.
# Exits non-zero only when something it needs failed (build, server start, the load's client, the load tool); calls
# that fail during a scenario are counted in the table, not treated as a failure of the script.
#
# Settings (environment variables):
#   MEMBERS=100000        members to seed, and the key space of the scenarios
#   DURATION=20s          measured time per scenario (after WARMUP)
#   WARMUP=3s             unmeasured warm-up per scenario
#   IN_FLIGHT=64          calls in flight for SCENARIOS
#   LOW_IN_FLIGHT=8       calls in flight for LOW_SCENARIOS
#   SCENARIOS="health resolve-phone resolve-openid order mix"
#   LOW_SCENARIOS="health resolve-phone"
#   CONNECTIONS=4         HTTP/2 connections of the load tool
#   ZIPF=1.0              Zipf exponent of the member keys (0 = uniform)
#   SEED=42               seed of the key sequences
#   PRIME=5s              after seeding, each scenario runs this long unmeasured, once, so the first measured
#                         scenario does not pay for the server's JIT (tier-0 code) and cold caches; 0 to skip
#   CACHE_MODE=none       cache configuration of the server: see cache_mode_args below (the hook for cache modes)
#   REDIS=auto            auto: start redis-server when a scenario reads or writes members, or CACHE_MODE names
#                         redis; 1: always; 0: never
#   SERVER_LOG_LEVEL=Warning   the server's default log level (Information logs every enrolment)
#   BENCH_OUT=DIR         also keep results.jsonl, table.md and the logs there
#   KEEP_TMP=1            keep the temporary folder (data, logs) for inspection
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

MEMBERS="${MEMBERS:-100000}"
DURATION="${DURATION:-20s}"
WARMUP="${WARMUP:-3s}"
IN_FLIGHT="${IN_FLIGHT:-64}"
LOW_IN_FLIGHT="${LOW_IN_FLIGHT:-8}"
SCENARIOS="${SCENARIOS:-health resolve-phone resolve-openid order mix}"
LOW_SCENARIOS="${LOW_SCENARIOS-health resolve-phone}"
CONNECTIONS="${CONNECTIONS:-4}"
ZIPF="${ZIPF:-1.0}"
SEED="${SEED:-42}"
PRIME="${PRIME:-5s}"
CACHE_MODE="${CACHE_MODE:-none}"
REDIS="${REDIS:-auto}"
SERVER_LOG_LEVEL="${SERVER_LOG_LEVEL:-Warning}"

SERVER_DLL="$ROOT/src/Identity.Service/bin/Release/net10.0/Identity.Service.dll"
LOAD_DLL="$ROOT/src/Identity.LoadTest/bin/Release/net10.0/identity-load.dll"
CLI_DLL="$ROOT/src/Identity.Cli/bin/Release/net10.0/identity.dll"
STARTED_AT=$SECONDS

say() { printf '%s\n' "bench: $*" >&2; }
fail() { say "$*"; exit 1; }

TMP="$(mktemp -d "${TMPDIR:-/tmp}/identity-bench.XXXXXX")" || fail "cannot create a temporary folder"
DATA_DIR="$TMP/data"
SERVER_PID=""
REDIS_PID=""
REDIS_PORT=""

stop_process() { # pid name
  local pid="$1" name="$2" i
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
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
  stop_process "$SERVER_PID" server
  stop_process "$REDIS_PID" redis-server
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

# ---------------------------------------------------------------------------------------------------------------------
# Cache modes. THE HOOK: map CACHE_MODE to the server's flags here when the cache lands, e.g.
#   memory) CACHE_ARGS=(--Cache:Mode=Memory) ;;
#   redis)  CACHE_ARGS=(--Cache:Mode=Redis) ;;
# Redis's address is passed separately (--Redis:Configuration) whenever Redis runs.

CACHE_ARGS=()
cache_mode_args() {
  case "$CACHE_MODE" in
    none | "") ;;
    *) say "CACHE_MODE=$CACHE_MODE is not mapped to server flags yet (see cache_mode_args in bench/run.sh): the server runs as configured by default" ;;
  esac
}

needs_redis() {
  case "$REDIS" in
    1 | yes | true) return 0 ;;
    0 | no | false) return 1 ;;
  esac
  case "$CACHE_MODE" in *redis*) return 0 ;; esac
  local scenario
  for scenario in $SCENARIOS $LOW_SCENARIOS; do
    [ "$scenario" != health ] && return 0
  done
  return 1
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

start_server() {
  local attempt args
  for attempt in 1 2 3; do
    pick_port
    SERVER_URL="http://127.0.0.1:$PORT"
    rm -rf "$DATA_DIR"
    args=(--urls "$SERVER_URL" "--Identity:DataDirectory=$DATA_DIR" "--Logging:LogLevel:Default=$SERVER_LOG_LEVEL")
    [ -n "$REDIS_PORT" ] && args+=("--Redis:Configuration=127.0.0.1:$REDIS_PORT")
    args+=("${CACHE_ARGS[@]}")
    dotnet "$SERVER_DLL" "${args[@]}" >"$TMP/server.log" 2>&1 &
    SERVER_PID=$!
    # Ask for SERVING in short rounds, so a server that dies at start-up is noticed at once.
    local until=$((SECONDS + 60))
    while [ "$SECONDS" -lt "$until" ] && kill -0 "$SERVER_PID" 2>/dev/null; do
      if dotnet "$LOAD_DLL" wait --server "$SERVER_URL" --timeout 2s >/dev/null 2>"$TMP/wait.log"; then
        say "server on $SERVER_URL (pid $SERVER_PID), data in $DATA_DIR"
        return 0
      fi
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      say "the server did not become SERVING on port $PORT within 60 s: $(cat "$TMP/wait.log")"
    else
      say "the server exited at start-up; its log ends:"
    fi
    tail -15 "$TMP/server.log" >&2
    stop_process "$SERVER_PID" server
    SERVER_PID=""
    # Only a lost race for the port is worth another try.
    grep -qi "address already in use" "$TMP/server.log" || return 1
  done
  return 1
}

# The load runs as a client of its own (admin role, so every scenario is allowed; a rate limit no run reaches), created
# with the bootstrap admin key the server wrote at its first start. Its key is never printed.
BENCH_KEY=""
create_bench_client() {
  local admin_key="$DATA_DIR/admin.key" i json
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
    clients create --name bench --role admin --rps 1000000 2>"$TMP/cli.log")" ||
    { cat "$TMP/cli.log" >&2; say "identity clients create failed"; return 1; }
  # protobuf JSON, one field per line: `  "key": "..."` (the client's own fields are nested under "client").
  BENCH_KEY="$(printf '%s\n' "$json" | sed -n 's/^ *"key": *"\([^"]*\)".*$/\1/p' | head -n 1)"
  [ -n "$BENCH_KEY" ] || { say "found no key in the output of identity clients create"; return 1; }
  say "created client 'bench' (admin, 1000000 requests/s) for the load"
}

rss_of() { # pid -> "123.4 MiB" from VmRSS
  [ -n "$1" ] && [ -r "/proc/$1/status" ] || { echo "n/a"; return; }
  awk '/^VmRSS:/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$1/status"
}

# ---------------------------------------------------------------------------------------------------------------------

command -v dotnet >/dev/null 2>&1 || fail "dotnet is not on PATH (the .NET 10 SDK is needed)"

say "building Release (server, load tool and CLI)"
for project in src/Identity.Service src/Identity.LoadTest src/Identity.Cli; do
  dotnet build "$project" -c Release -nologo -v quiet -clp:ErrorsOnly >"$TMP/build.log" 2>&1 ||
    { cat "$TMP/build.log" >&2; fail "build of $project failed"; }
done

cache_mode_args
if needs_redis; then
  start_redis || say "WARNING: running without Redis (the server does not use it yet)"
fi
start_server || fail "the server did not start (log above)"
create_bench_client || fail "could not create the load's client"

LOAD=(dotnet "$LOAD_DLL")
KEY_ARGS=()
[ -n "$BENCH_KEY" ] && KEY_ARGS=(--key "$BENCH_KEY")
COMMON=("${KEY_ARGS[@]}" --server "$SERVER_URL" --members "$MEMBERS" --duration "$DURATION" --warmup "$WARMUP"
  --connections "$CONNECTIONS" --zipf "$ZIPF" --seed "$SEED" --json "$TMP/results.jsonl")
STATUS=0

say "seeding $MEMBERS members"
"${LOAD[@]}" seed "${KEY_ARGS[@]}" --server "$SERVER_URL" --members "$MEMBERS" || fail "seeding failed"

prime() { # scenarios...: one unmeasured pass over every distinct scenario
  local scenarios
  scenarios="$(printf '%s\n' "$@" | awk 'NF && !seen[$0]++' | paste -sd, -)"
  case "$PRIME" in 0 | 0s | "") return 0 ;; esac
  [ -n "$scenarios" ] || return 0
  say "priming the server: $scenarios, $PRIME each, not measured"
  "${LOAD[@]}" run "${KEY_ARGS[@]}" --server "$SERVER_URL" --members "$MEMBERS" --connections "$CONNECTIONS" \
    --zipf "$ZIPF" --seed "$((SEED + 1))" --in-flight "$IN_FLIGHT" --warmup "$PRIME" --duration 1s \
    --scenario "$scenarios" \
    >"$TMP/prime.log" 2>&1 || { cat "$TMP/prime.log" >&2; say "the load tool failed while priming"; STATUS=1; }
}

run_level() { # in-flight, scenarios...
  local in_flight="$1"
  shift
  [ "$#" -gt 0 ] || return 0
  say "running $* at $in_flight in flight, $WARMUP warm-up + $DURATION each"
  "${LOAD[@]}" run "${COMMON[@]}" --in-flight "$in_flight" --scenario "$(IFS=,; echo "$*")" ||
    { say "the load tool failed (exit $?)"; STATUS=1; }
}
# shellcheck disable=SC2086 # word splitting of the scenario lists is intended
prime $SCENARIOS $LOW_SCENARIOS
# shellcheck disable=SC2086
run_level "$IN_FLIGHT" $SCENARIOS
# shellcheck disable=SC2086
run_level "$LOW_IN_FLIGHT" $LOW_SCENARIOS

SERVER_RSS="$(rss_of "$SERVER_PID")"
REDIS_RSS="$(rss_of "$REDIS_PID")"
report_exit() { # pid name log: say so when a process we started is gone before the end
  local code
  [ -n "$1" ] || return 0
  kill -0 "$1" 2>/dev/null && return 0
  wait "$1" 2>/dev/null
  code=$?
  say "$2 exited before the end of the run (exit status $code$([ "$code" -gt 128 ] && echo ", signal $((code - 128))")); its log ends:"
  tail -15 "$3" >&2
}
report_exit "$SERVER_PID" server "$TMP/server.log"
report_exit "$REDIS_PID" redis-server "$TMP/redis.log"

# ---------------------------------------------------------------------------------------------------------------------
# The table, from the JSON Lines the load tool wrote (flat objects; parsed with awk so no jq or python is needed).

[ -s "$TMP/results.jsonl" ] || fail "no results were written"
{
  echo
  echo "Identity load benchmark: $(nproc) cores, $MEMBERS members, zipf $ZIPF, $CONNECTIONS connections," \
    "$WARMUP warm-up + $DURATION per scenario, CACHE_MODE=$CACHE_MODE, redis $([ -n "$REDIS_PORT" ] && echo "on 127.0.0.1:$REDIS_PORT" || echo off)"
  echo
  awk '
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
    NF {
      n++
      scenario[n] = str($0, "scenario"); inflight[n] = num($0, "in_flight"); rps[n] = num($0, "requests_per_second")
      p50[n] = num($0, "p50_ms"); p90[n] = num($0, "p90_ms"); p99[n] = num($0, "p99_ms"); p999[n] = num($0, "p999_ms")
      errors[n] = num($0, "errors"); detail[n] = codes($0)
      if (scenario[n] == "health") baseline[inflight[n]] = rps[n]
    }
    END {
      print "| scenario | in flight | req/s | ratio to health (same in-flight) | p50 ms | p90 ms | p99 ms | p99.9 ms | errors |"
      print "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
      for (i = 1; i <= n; i++) {
        ratio = (inflight[i] in baseline && baseline[inflight[i]] > 0) ? sprintf("%.3f", rps[i] / baseline[inflight[i]]) : "n/a"
        err = errors[i] + 0
        if (err > 0 && detail[i] != "") err = err " (" detail[i] ")"
        printf "| %s | %d | %.1f | %s | %.3f | %.3f | %.3f | %.3f | %s |\n", scenario[i], inflight[i], rps[i], ratio, p50[i], p90[i], p99[i], p999[i], err
      }
    }
  ' "$TMP/results.jsonl"
  echo
  echo "Server RSS after the run (VmRSS): $SERVER_RSS${REDIS_PID:+; redis-server: $REDIS_RSS}"
  echo "Total time: $((SECONDS - STARTED_AT)) s"
} | tee "$TMP/table.md"

exit "$STATUS"
