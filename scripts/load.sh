#!/usr/bin/env bash
# The load comparison: a hello-world route served bare, behind charon-auth's access and
# refresh layers, and behind the peers tower-sessions (Redis store) and jwt-authorizer,
# measured with wrk on loopback, one server at a time, alternating across rounds.
#
# Realistic traffic by default: every request carries the next of many distinct
# credentials (benches/load/cycle.lua), 20 000 access tokens (HS256, and EdDSA as its own
# row) and 2 000 sessions in Redis for each session row, next to the single-credential
# row for comparison. Every row runs the same Lua script, so the client does the same
# work whatever the server.
#
#   ./scripts/load.sh                          # 3 rounds x 10 s per mode
#   ROUNDS=5 DURATION=20 ./scripts/load.sh
#   ROUNDS=1 DURATION=3 ./scripts/load.sh      # a quick check that everything runs
#
# Environment:
#   ROUNDS       rounds; each runs every mode once, in a rotated order (3)
#   DURATION     seconds measured per run (10), after WARMUP seconds of warm-up (2)
#   CONNECTIONS  wrk connections (32); THREADS wrk threads (1)
#   TOKENS       distinct access tokens (20000); SESSIONS distinct sessions per store (2000)
#   MODES        rows to run, of: bare access-1 access access-metrics access-eddsa
#                access-strict access-cached refresh refresh-cached tower-sessions
#                jwt-authorizer bare07 (all)
#   CACHED_SESSIONS  sessions (and their access tokens) of the access-cached row (20000);
#                access-strict uses SESSIONS, as the session rows it is compared with
#   PIN=1        pin the server to CPU 0 and wrk and Redis to CPU 1 (default 0: no pinning)
# Installs wrk and redis-server with apt-get when missing; starts its own Redis.
#
# Prints a markdown table: per mode the median requests/s and p99 latency over the rounds,
# the median of the per-round ratios to bare axum (same round), the server's peak resident
# memory (VmHWM) and, for the access modes, the verified-token cache's size and its hit
# ratio during the measured run (after the warm-up); the CPU time per request of the
# server and of Redis during the measured run (user + system, from /proc: unlike
# requests/s, not moved by the steal of a shared machine, whose share it prints too);
# then the ratios between rows (requests/s, and server + Redis CPU per request), Redis's
# commands per request and time per command (INFO commandstats) for the rows that use it,
# and the memory per cached token ((peak RSS of `access` - peak RSS of `access-1`) / (tokens
# cached - 1)).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
TOKENS=${TOKENS:-20000}
SESSIONS=${SESSIONS:-2000}
MODES=${MODES:-"bare access-1 access access-metrics access-eddsa access-strict access-cached refresh refresh-cached tower-sessions jwt-authorizer bare07"}
CACHED_SESSIONS=${CACHED_SESSIONS:-20000}
PIN=${PIN:-0}

need_apt=()
command -v wrk >/dev/null || need_apt+=(wrk)
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v redis-cli >/dev/null || need_apt+=(redis-tools)
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
LUA=benches/load/cycle.lua

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

# Which server mode serves a row, and which credentials its requests carry.
server_mode() {
    case $1 in
    access-1) echo access ;;
    *) echo "$1" ;;
    esac
}
credentials() {
    case $1 in
    access-1) echo "$WORK/hs256-1.txt" ;;
    access-eddsa) echo "$WORK/eddsa.txt" ;;
    refresh) echo "$WORK/refresh.txt" ;;
    refresh-cached) echo "$WORK/refresh-cached.txt" ;;
    access-strict) echo "$WORK/access-strict.txt" ;;
    access-cached) echo "$WORK/access-cached.txt" ;;
    tower-sessions) echo "$WORK/tower-sessions.txt" ;;
    # bare and bare07 get the HS256 tokens too (and ignore them): same client work.
    *) echo "$WORK/hs256.txt" ;;
    esac
}

start_server() {
    port=$($BIN free-port)
    "${SERVER_CPU[@]}" "$BIN" serve "$1" "$port" &
    SERVER_PID=$!
    wait_port "$port"
}
stop_server() {
    kill "$SERVER_PID"
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

read -r -a modes <<<"$MODES"
has_mode() { [[ " ${modes[*]} " == *" $1 "* ]]; }

echo "minting $TOKENS HS256 and EdDSA tokens, $SESSIONS sessions per store..." >&2
$BIN tokens hs256 "$TOKENS" >"$WORK/hs256.txt"
head -n 1 "$WORK/hs256.txt" >"$WORK/hs256-1.txt"
if has_mode access-eddsa; then $BIN tokens eddsa "$TOKENS" >"$WORK/eddsa.txt"; fi
for mode in refresh refresh-cached tower-sessions access-strict access-cached; do
    if has_mode "$mode"; then
        n=$SESSIONS
        [ "$mode" = access-cached ] && n=$CACHED_SESSIONS
        start_server "$mode"
        $BIN credentials "$port" "$n" >"$WORK/$mode.txt"
        stop_server
    fi
done

# "<cached> <hits> <misses>" of the verified-token cache of an access-mode server.
cache_stats() {
    if [[ $1 == access* ]]; then
        $BIN get "$port" /cache-stats | sed -E 's/len=([0-9]+) hits=([0-9]+) misses=([0-9]+)/\1 \2 \3/'
    else
        echo "- - -"
    fi
}

# "<hits> <misses>" of the Redis store's session cache of a server with one, else "- -".
session_cache_stats() {
    case $1 in
    access-cached | refresh-cached)
        $BIN get "$port" /session-cache-stats | sed -E 's/hits=([0-9]+) misses=([0-9]+)/\1 \2/'
        ;;
    *) echo "- -" ;;
    esac
}

# CPU time of a process so far (user + system), in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# "<busy> <steal>" clock ticks of the whole machine so far (/proc/stat).
machine_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9, $9 }' /proc/stat; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))
# "<calls> <usec>" of every command Redis has run so far, and the time it spent in them
# (INFO commandstats: the command's own work, not reading the request or writing the reply
# to the socket).
redis_calls() {
    redis-cli -p "$REDIS_PORT" info commandstats |
        awk -F '[:=,]' '/^cmdstat_/ { c += $3; u += $5 } END { print c + 0, u + 0 }'
}

# One wrk run of one row: "<requests/s> <p99 ms> <peak RSS KiB> <cached> <hits> <misses>
# <session cache hits> <session cache misses> <server CPU us/request> <Redis CPU us/request>
# <steal %> <Redis commands/request> <Redis us/command>" (the last two "-" for a row that
# sends Redis no command).
run_mode() {
    local row=$1 mode out creds stats hwm before sbefore sstats cpu0 rcpu0 m0 ticks calls0 calls
    mode=$(server_mode "$row")
    creds=$(credentials "$row")
    start_server "$mode"
    # Warm up (connections, caches), then measure.
    CREDENTIALS=$creds "${CLIENT_CPU[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" \
        -s "$LUA" "http://127.0.0.1:$port/" >/dev/null
    before=$(cache_stats "$mode")
    sbefore=$(session_cache_stats "$mode")
    cpu0=$(cpu_ticks "$SERVER_PID") rcpu0=$(cpu_ticks "$REDIS_PID") m0=$(machine_ticks)
    calls0=$(redis_calls)
    out=$(CREDENTIALS=$creds "${CLIENT_CPU[@]}" wrk -t"$THREADS" -c"$CONNECTIONS" \
        -d"${DURATION}s" --latency -s "$LUA" "http://127.0.0.1:$port/")
    # CPU ticks of the server and of Redis during the measured run (steal, which moves
    # requests/s, is not counted in them), and the machine's busy and steal ticks.
    ticks="$(($(cpu_ticks "$SERVER_PID") - cpu0)) $(($(cpu_ticks "$REDIS_PID") - rcpu0)) $m0 $(machine_ticks)"
    # Redis's commands and their microseconds, before and after.
    calls="$calls0 $(redis_calls)"
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status")
    # The cache's size after the run, its hits and misses during the measured run.
    stats=$(awk -v b="$before" -v a="$(cache_stats "$mode")" 'BEGIN {
        split(b, x, " "); split(a, y, " ");
        if (y[1] == "-") print "- - -"; else print y[1], y[2] - x[2], y[3] - x[3] }')
    sstats=$(awk -v b="$sbefore" -v a="$(session_cache_stats "$mode")" 'BEGIN {
        split(b, x, " "); split(a, y, " ");
        if (y[1] == "-") print "- -"; else print y[1] - x[1], y[2] - x[2] }')
    stop_server
    if grep -q "Non-2xx" <<<"$out"; then
        echo "mode $row answered non-2xx:" >&2
        echo "$out" >&2
        exit 1
    fi
    awk -v hwm="$hwm" -v stats="$stats $sstats" -v ticks="$ticks" -v t="$TICK_US" -v calls="$calls" '
        function ms(v) {
            if (v ~ /us$/) return v / 1000;
            if (v ~ /ms$/) return v + 0;
            if (v ~ /s$/) return v * 1000;
            return v;
        }
        /Requests\/sec:/ { rps = $2 }
        /^ +99%/ { p99 = ms($2) }
        / requests in / { n = $1 }
        END {
            # ticks: server, Redis, then machine busy and steal, before and after.
            split(ticks, c); busy = c[5] - c[3];
            # calls: Redis commands and their microseconds, before and after (the first
            # INFO is counted by the second); "-" below one per 100 requests (a
            # heartbeat and the like, not the requests).
            split(calls, k); cmds = k[3] - k[1] - 1; per = cmds / n;
            printf "%s %s %s %s %.2f %.2f %.1f %s\n", rps, p99, hwm, stats, c[1] * t / n, c[2] * t / n,
                (busy > 0 ? (c[6] - c[4]) * 100 / busy : 0),
                (per < 0.01 ? "- -" : sprintf("%.2f %.2f", per, (k[4] - k[2]) / cmds)) }' <<<"$out"
}

n=${#modes[@]}
for ((r = 0; r < ROUNDS; r++)); do
    for ((i = 0; i < n; i++)); do
        # Rotate the order each round so that no mode always runs first or last.
        mode=${modes[$(((i + r) % n))]}
        result=$(run_mode "$mode")
        echo "round $((r + 1)) $mode: $result (req/s, p99 ms, peak RSS KiB, token cache: cached, hits, misses; session cache: hits, misses; CPU us/request: server, Redis; steal %; Redis commands/request, us/command)" >&2
        echo "$r $mode $result" >>"$WORK/results"
    done
done

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# column <mode> <field>: that field of every round of a mode.
column() { awk -v m="$1" -v f="$2" '$2 == m { print $f }' "$WORK/results"; }
# column_all <field>: that field of every run.
column_all() { awk -v f="$1" '{ print $f }' "$WORK/results"; }
# ratio_of <a> <b> [fields]: per-round ratio of mode a's value to mode b's, median over the
# rounds; the value is the sum of the given result fields (default 3, requests/s).
ratio_of() {
    awk -v a="$1" -v b="$2" -v fields="${3:-3}" '
        function value(  i, f, v) { split(fields, f); for (i in f) v += $f[i]; return v }
        $2 == a { x[$1] = value() } $2 == b { y[$1] = value() }
        END { for (r in x) if (r in y && y[r] > 0) print x[r] / y[r] }' "$WORK/results" | median
}

echo
echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s (after ${WARMUP}s warm-up), $ROUNDS rounds, medians, $(nproc) CPUs (PIN=$PIN)"
echo "credentials cycled per request: $TOKENS access tokens, $SESSIONS sessions per store"
echo
echo "steal (share of the machine's busy time during the measured runs, median): $(column_all 13 | median)%"
echo
echo "| # | mode | credentials | requests/s | p99 latency | vs bare (same round) | server CPU/request | Redis CPU/request | server peak RSS | token cache | session cache |"
echo "|---|---|---|---:|---:|---:|---:|---:|---:|---|---|"
i=0
for mode in "${modes[@]}"; do
    i=$((i + 1))
    case $mode in
    bare | bare07) creds="(ignored)" ;;
    access-1) creds="1 HS256 token" ;;
    access | access-metrics | jwt-authorizer) creds="$TOKENS HS256 tokens" ;;
    access-eddsa) creds="$TOKENS EdDSA tokens" ;;
    access-strict) creds="$SESSIONS sessions" ;;
    access-cached) creds="$CACHED_SESSIONS sessions" ;;
    *) creds="$SESSIONS sessions" ;;
    esac
    rps=$(column "$mode" 3 | median)
    p99=$(column "$mode" 4 | median)
    hwm=$(column "$mode" 5 | median)
    vs=$(ratio_of "$mode" bare)
    cache="–"
    if [[ $mode == access* ]]; then
        cache=$(awk -v m="$mode" '$2 == m && $7 + $8 > 0 { print $7 / ($7 + $8) }' "$WORK/results" | median |
            awk -v len="$(column "$mode" 6 | median)" '{ printf "%d cached, %.1f%% hits", len, $1 * 100 }')
    fi
    scache="–"
    if [[ $mode == *-cached ]]; then
        scache=$(awk -v m="$mode" '$2 == m && $9 + $10 > 0 { print $9 / ($9 + $10) }' "$WORK/results" | median |
            awk '{ printf "%.1f%% hits", $1 * 100 }')
    fi
    printf "| %d | %s | %s | %.0f | %.2f ms | %s | %.2f µs | %.2f µs | %.1f MiB | %s | %s |\n" "$i" "$mode" \
        "$creds" "$rps" "$p99" "${vs:+$(printf %.2f "$vs")}" "$(column "$mode" 11 | median)" \
        "$(column "$mode" 12 | median)" "$(awk -v k="$hwm" 'BEGIN { print k / 1024 }')" "$cache" "$scache"
done

# ratio <a> <b> <label> [fields]: a table row of ratio_of.
ratio() {
    local v
    v=$(ratio_of "$1" "$2" "${4:-}")
    [ -n "$v" ] && printf "| %s | %.2f |\n" "$3" "$v"
    return 0
}
echo
echo "| ratio (requests/s, same round, median) | value |"
echo "|---|---:|"
ratio access bare "access, $TOKENS HS256 tokens / bare"
ratio access-1 bare "access, 1 HS256 token / bare"
ratio access-metrics access "access with the metrics bridge into Prometheus / without ($TOKENS HS256 tokens)"
ratio access-eddsa bare "access, $TOKENS EdDSA tokens / bare"
ratio access-strict tower-sessions "access, session check strict / tower-sessions ($SESSIONS sessions each)"
ratio access-cached bare "access, session check cached ($CACHED_SESSIONS sessions) / bare"
ratio refresh bare "refresh / bare"
ratio refresh tower-sessions "refresh / tower-sessions ($SESSIONS sessions each)"
ratio refresh-cached tower-sessions "refresh, session read cached / tower-sessions ($SESSIONS sessions each)"
ratio jwt-authorizer bare07 "jwt-authorizer / bare (axum 0.7)"
ratio access jwt-authorizer "access / jwt-authorizer ($TOKENS HS256 tokens each)"

# The server + Redis CPU per request (fields 11 and 12) of the reference $2 over that of
# the row $1: above 1 when the row costs less, as a requests/s ratio is.
cpu_ratio() { ratio "$2" "$1" "$3" "11 12"; }
echo
echo "| CPU ratio (server + Redis CPU per request of the reference / of the row; same round, median) | value |"
echo "|---|---:|"
cpu_ratio access bare "access, $TOKENS HS256 tokens / bare"
cpu_ratio access-strict tower-sessions "access, session check strict / tower-sessions ($SESSIONS sessions each)"
cpu_ratio access-cached bare "access, session check cached ($CACHED_SESSIONS sessions) / bare"
cpu_ratio refresh tower-sessions "refresh / tower-sessions ($SESSIONS sessions each)"
cpu_ratio refresh-cached tower-sessions "refresh, session read cached / tower-sessions ($SESSIONS sessions each)"

# Redis's side of the rows that send it commands: how many a request, how long Redis spends
# in each (its own work: the commands, not the socket), and its CPU per request (the
# commands plus reading, parsing and answering them).
echo
echo "| Redis work (median) | commands/request | µs in Redis per command | Redis CPU/request |"
echo "|---|---:|---:|---:|"
for mode in "${modes[@]}"; do
    per=$(column "$mode" 14 | awk '$1 != "-"' | median)
    [ -n "$per" ] || continue
    printf "| %s | %.2f | %.2f µs | %.2f µs |\n" "$mode" "$per" "$(column "$mode" 15 | awk '$1 != "-"' | median)" \
        "$(column "$mode" 12 | median)"
done

if has_mode access && has_mode access-1; then
    per_token=$(awk '
        $2 == "access" { h[$1] = $5; l[$1] = $6 } $2 == "access-1" { h1[$1] = $5; l1[$1] = $6 }
        END { for (r in h) if (r in h1 && l[r] > l1[r]) print (h[r] - h1[r]) * 1024 / (l[r] - l1[r]) }' \
        "$WORK/results" | median)
    echo
    echo "memory per cached token (peak RSS of access minus access-1, per extra cached token): ${per_token:+$(printf %.0f "$per_token") bytes}"
fi
