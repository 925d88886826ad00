#!/usr/bin/env bash
# The fault run (issue 14): the demo server (release build) on Redis topologies this run
# starts itself, under a mixed load, with one fault injected mid-run per scenario. Loopback
# only; bounded (about 20 s per scenario, 8 scenarios, a few minutes in all, hard limit
# 10 minutes).
#
#   ./scripts/chaos.sh                                # every scenario
#   SCENARIOS=crash-everysec,sentinel-failover ./scripts/chaos.sh
#   USERS=24 ACCESS_USERS=4 WARMUP=3 OBSERVE=10 ./scripts/chaos.sh   # the defaults
#
# Scenarios (see src/guide/redis_deployment.rs for what each shows):
#   restart-always             SIGKILL, restart 2 s later (appendonly, appendfsync always)
#   crash-everysec             appendfsync everysec; an OS crash losing the last second:
#                              restart from a copy of the AOF taken 1 s before the kill
#   crash-everysec-fsync       the same with CHARON_REDIS_DURABLE_DELETES=fsync (WAITAOF;
#                              runs only where redis-server is >= 7.2)
#   client-pause               CLIENT PAUSE 3000 ALL
#   cluster-failover           3 masters + 3 replicas, one master SIGKILLed
#   sentinel-failover          master + replica + 3 sentinels; the replication link stalls
#                              1 s before the master is SIGKILLed (its last second never
#                              reached the replica); the replica is promoted
#   sentinel-failover-durable  the same with CHARON_REDIS_DURABLE_DELETES=1 (WAIT 1)
#   flushall                   FLUSHALL: every session gone
#
# Load: USERS looping users (login -> /me -> refresh -> /me -> refresh -> /me -> refresh ->
# /sessions -> logout, with a new user id per cycle) and ACCESS_USERS access-only users
# (/me with one access token), closed loop, each over its own keep-alive connection; a 503,
# 409 or dropped request is retried after 25 ms. After each run every logged-out session's
# last refresh token is tried again (200 = resurrection) and every live one (gone = a lost
# acknowledged write).
#
# The driver is Rust (benches/chaos, its own crate like benches/load), not Python: on a
# shared 2-core machine the load generator must cost little CPU next to the server and
# Redis, a closed loop of thousands of requests a second needs keep-alive HTTP with
# microsecond timing, and it manages processes and a replication-link proxy with threads,
# which Python's stdlib would do with a GIL skewing every latency it measures.
#
# Prints two markdown tables (answers; windows and latencies). Needs redis-server and
# redis-cli (installed with apt-get when missing and run as root).
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v redis-server >/dev/null 2>&1 || need_pkgs+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || need_pkgs+=(redis-tools)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "chaos.sh: installing ${need_pkgs[*]} with apt-get" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  else
    echo "chaos.sh: needs redis-server and redis-cli (Debian: redis-server, redis-tools)" >&2
    exit 1
  fi
fi

echo "chaos.sh: building the demo server and the driver (release)..." >&2
cargo build --quiet --release --locked --example axum_server --features axum,metrics
cargo build --quiet --release --locked --manifest-path benches/chaos/Cargo.toml --target-dir target/chaos
SERVER=target/release/examples/axum_server
DRIVER=target/chaos/release/charon-chaos

WORK=$(mktemp -d -t charon-chaos.XXXXXX)
DRIVER_PID=""
cleanup() {
  # Only what this run started: the driver, then every pid it recorded (redis-server,
  # sentinels, the demo), each checked to still be one of ours.
  if [ -n "$DRIVER_PID" ]; then kill "$DRIVER_PID" 2>/dev/null || true; fi
  if [ -f "$WORK/pids" ]; then
    while read -r pid; do
      if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" |
        grep -qE "redis-server|axum_server"; then
        kill -9 "$pid" 2>/dev/null || true
      fi
    done <"$WORK/pids"
  fi
  if [ "${KEEP:-0}" = 1 ]; then
    echo "chaos.sh: logs kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
}
trap cleanup EXIT

args=(--server "$SERVER" --work "$WORK")
[ -n "${SCENARIOS:-}" ] && args+=(--scenarios "$SCENARIOS")
[ -n "${USERS:-}" ] && args+=(--users "$USERS")
[ -n "${ACCESS_USERS:-}" ] && args+=(--access-users "$ACCESS_USERS")
[ -n "${WARMUP:-}" ] && args+=(--warmup "$WARMUP")
[ -n "${OBSERVE:-}" ] && args+=(--observe "$OBSERVE")

echo "chaos.sh: $(redis-server --version | cut -d' ' -f1-3), $(nproc) CPUs, work dir $WORK" >&2
timeout --signal=TERM 600 "$DRIVER" "${args[@]}" &
DRIVER_PID=$!
status=0
wait "$DRIVER_PID" || status=$?
DRIVER_PID=""
exit "$status"
