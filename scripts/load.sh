#!/usr/bin/env bash
# The load comparison: a hello-world route served bare, behind charon-auth's access and
# refresh layers, and behind the peers tower-sessions (Redis store) and jwt-authorizer,
# measured with wrk on loopback, one server at a time, alternating across rounds.
#
#   ./scripts/load.sh                 # 3 rounds x 10 s per mode
#   ROUNDS=5 DURATION=20 ./scripts/load.sh
#
# Environment: ROUNDS (3), DURATION seconds per run (10), CONNECTIONS (32), THREADS (1),
# MODES (all), PIN=1 to pin the server to CPU 0 and wrk and Redis to CPU 1 (default: no
# pinning). Installs wrk and redis-server with apt-get when missing; starts its own Redis.
# Prints a markdown table (median requests/s and p99 latency per mode) and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
MODES=${MODES:-"bare access refresh tower-sessions jwt-authorizer bare07"}
PIN=${PIN:-0}

need_apt=()
command -v wrk >/dev/null || need_apt+=(wrk)
command -v redis-server >/dev/null || need_apt+=(redis-server)
if ((${#need_apt[@]})); then
    if [ "$(id -u)" != 0 ]; then
        echo "missing: ${need_apt[*]}; install them (apt-get install ${need_apt[*]})" >&2
        exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

echo "building the load server (release)..." >&2
cargo build --quiet --release --manifest-path benches/load/Cargo.toml --target-dir target/load
BIN=target/load/release/charon-load

SERVER_CPU=() CLIENT_CPU=()
if [ "$PIN" = 1 ]; then
    SERVER_CPU=(taskset -c 0)
    CLIENT_CPU=(taskset -c 1)
fi

WORK=$(mktemp -d)
REDIS_PID="" SERVER_PID=""
cleanup() {
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
    [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

wait_port() {
    for _ in $(seq 1 200); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "nothing listens on port $1" >&2
    return 1
}

REDIS_PORT=$($BIN free-port)
"${CLIENT_CPU[@]}" redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" \
    --appendonly no --daemonize no >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
wait_port "$REDIS_PORT"
export REDIS_URL="redis://127.0.0.1:$REDIS_PORT"

TOKEN=$($BIN token)

# One wrk run of one mode: "<requests/s> <p99 ms>".
run_mode() {
    local mode=$1 port header out
    port=$($BIN free-port)
    "${SERVER_CPU[@]}" "$BIN" serve "$mode" "$port" &
    SERVER_PID=$!
    wait_port "$port"
    case $mode in
    refresh | tower-sessions) header=$($BIN credential "$port") ;;
    *) header="Authorization: Bearer $TOKEN" ;;
    esac
    # Warm up (connections, caches), then measure.
    "${CLIENT_CPU[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d2s -H "$header" \
        "http://127.0.0.1:$port/" >/dev/null
    out=$("${CLIENT_CPU[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
        -H "$header" "http://127.0.0.1:$port/")
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
    if grep -q "Non-2xx" <<<"$out"; then
        echo "mode $mode answered non-2xx:" >&2
        echo "$out" >&2
        exit 1
    fi
    awk '
        function ms(v) {
            if (v ~ /us$/) return v / 1000;
            if (v ~ /ms$/) return v + 0;
            if (v ~ /s$/) return v * 1000;
            return v;
        }
        /Requests\/sec:/ { rps = $2 }
        /^ +99%/ { p99 = ms($2) }
        END { printf "%s %s\n", rps, p99 }' <<<"$out"
}

read -r -a modes <<<"$MODES"
n=${#modes[@]}
for ((r = 0; r < ROUNDS; r++)); do
    for ((i = 0; i < n; i++)); do
        # Rotate the order each round so that no mode always runs first or last.
        mode=${modes[$(((i + r) % n))]}
        result=$(run_mode "$mode")
        echo "round $((r + 1)) $mode: $result (req/s, p99 ms)" >&2
        echo "$mode $result" >>"$WORK/results"
    done
done

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A RPS P99
for mode in "${modes[@]}"; do
    RPS[$mode]=$(awk -v m="$mode" '$1 == m { print $2 }' "$WORK/results" | median)
    P99[$mode]=$(awk -v m="$mode" '$1 == m { print $3 }' "$WORK/results" | median)
done

echo
echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, $ROUNDS rounds, medians, $(nproc) CPUs (PIN=$PIN)"
echo
echo "| # | mode | requests/s | p99 latency |"
echo "|---|---|---:|---:|"
i=0
for mode in "${modes[@]}"; do
    i=$((i + 1))
    printf "| %d | %s | %.0f | %.2f ms |\n" "$i" "$mode" "${RPS[$mode]}" "${P99[$mode]}"
done
ratio() {
    if [ -n "${RPS[$1]:-}" ] && [ -n "${RPS[$2]:-}" ]; then
        awk -v a="${RPS[$1]}" -v b="${RPS[$2]}" -v l="$3" 'BEGIN { printf "| %s | %.2f |\n", l, a / b }'
    fi
}
echo
echo "| ratio (requests/s) | value |"
echo "|---|---:|"
ratio access bare "access / bare"
ratio refresh bare "refresh / bare"
ratio access jwt-authorizer "access / jwt-authorizer"
ratio refresh tower-sessions "refresh / tower-sessions"
ratio jwt-authorizer bare07 "jwt-authorizer / bare (axum 0.7)"
