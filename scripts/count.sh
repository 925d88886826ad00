#!/usr/bin/env bash
# The access layer's cost per request, counted instead of timed: `charon-load inproc` run
# under valgrind's callgrind with its cache simulation, whatever else the machine does:
# instructions and data reads repeat within about 10 a request from run to run of the same
# binary (hash seeds are random); the simulated misses depend on where memory lands and
# move by about 1 (last level) and up to 15 (first level).
# The wrk rows of scripts/load.sh move by +-25 % a round on this shared 2-core machine; a
# change of a few hundred instructions a request only shows here.
#
#   ./scripts/count.sh                 # 5 000 sessions, last level modelled as 2 MiB
#   SESSIONS=2000 LL=1048576 ./scripts/count.sh
#
# For each row (bare; the access layer; with the cached session check) it runs the tool
# twice, with 2 and with 4 rounds, and counts only the requests (the calls of the
# spawned tasks that send them; `inproc <n> <rounds> 2`). The difference is two warm
# rounds, every token already verified and its session cached: the first round (the
# signature checks, the session loads) and the set-up (logins) drop out. Prints per warm
# request: instructions (Ir), data reads (Dr), first-level data read misses (D1mr) and
# last-level data read misses (DLmr, the reads that go to memory in the model), for bare
# axum and for each layer minus bare.
#
# The last level is modelled as one core's 2 MiB L2 (LL), so that the working set of many
# distinct tokens and sessions misses as it does on a real machine; valgrind would
# otherwise take the host's whole shared L3. The header bytes are cold here (the tool
# keeps all credentials in memory), where a server has just read them from the socket:
# extract_token's misses are the tool's, not a server's.
#
# Environment: SESSIONS (5000), LL (2097152 bytes, 16-way, 64-byte lines).
# Installs valgrind and redis-server with apt-get when missing; starts its own Redis.
set -euo pipefail
cd "$(dirname "$0")/.."

SESSIONS=${SESSIONS:-5000}
LL=${LL:-2097152}

need_apt=()
command -v valgrind >/dev/null || need_apt+=(valgrind)
command -v redis-server >/dev/null || need_apt+=(redis-server)
if ((${#need_apt[@]})); then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

cargo build --quiet --release --manifest-path benches/load/Cargo.toml --target-dir target/load
bin=target/load/release/charon-load
out=$(mktemp -d)
port=$("$bin" free-port)
redis-server --port "$port" --save '' --appendonly no --daemonize yes \
    --pidfile "$out/redis.pid" >/dev/null
trap 'kill "$(cat "$out/redis.pid")" 2>/dev/null || true; rm -rf "$out"' EXIT
until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done
export REDIS_URL="redis://127.0.0.1:$port"
# Valgrind runs the tool about 50 times slower: keep the session cache's heartbeat from
# timing out, or every cached request would fall back to a round trip.
export LOAD_HEARTBEAT_TIMEOUT_MS=600000

summary() { # rows rounds -> "Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw" of the requests
    redis-cli -p "$port" flushall >/dev/null
    INPROC_ROWS=$1 valgrind --tool=callgrind --cache-sim=yes --LL="$LL,16,64" \
        --collect-atstart=no "--toggle-collect=charon_load::inproc::per_request::*" \
        --callgrind-out-file="$out/cg.$1.$2" "$bin" inproc "$SESSIONS" "$2" 2 \
        >"$out/log.$1.$2" 2>&1 || { cat "$out/log.$1.$2" >&2; exit 1; }
    # The cached row must have been served by the session cache: one miss per session
    # (its first round), no reset.
    if [ "$1" = cached ] && ! grep -q "session cache: [0-9]* hits, $SESSIONS misses, 0 resets" \
        "$out/log.$1.$2"; then
        echo "the cached row fell back to round trips:" >&2
        grep "session cache" "$out/log.$1.$2" >&2
        exit 1
    fi
    sed -n 's/^summary: //p' "$out/cg.$1.$2"
}

declare -A warm
for rows in none access cached; do
    two=$(summary "$rows" 2)
    four=$(summary "$rows" 4)
    # Two warm rounds of bare (and of the row): per request.
    warm[$rows]=$(awk -v n="$SESSIONS" -v a="$four" -v b="$two" 'BEGIN {
        split(a, x); split(b, y);
        for (i = 1; i <= 9; i++) printf "%s ", (x[i] - y[i]) / (2 * n) }')
done

echo "| per warm request ($SESSIONS sessions, LL $LL B) | Ir | Dr | D1mr | DLmr |"
echo "|---|---:|---:|---:|---:|"
awk -v none="${warm[none]}" -v access="${warm[access]}" -v cached="${warm[cached]}" 'BEGIN {
    split(none, b)
    printf "| bare axum | %.0f | %.0f | %.1f | %.1f |\n", b[1], b[2], b[5], b[8]
    # A row run holds bare and the row, so the row is its count minus bare, twice over
    # bare for the layer alone.
    split(access, a)
    printf "| access layer (minus bare) | %+.0f | %+.0f | %+.1f | %+.1f |\n",
        a[1] - 2 * b[1], a[2] - 2 * b[2], a[5] - 2 * b[5], a[8] - 2 * b[8]
    split(cached, c)
    printf "| cached session check (minus bare) | %+.0f | %+.0f | %+.1f | %+.1f |\n",
        c[1] - 2 * b[1], c[2] - 2 * b[2], c[5] - 2 * b[5], c[8] - 2 * b[8]
}'
