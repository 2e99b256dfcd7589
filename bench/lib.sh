# shellcheck shell=bash
# Shared helpers for the bench scripts: sourced, not run. Loopback only.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
BIN="${CARGO_TARGET_DIR:-$REPO_DIR/target}/release/whatsdex"

# A sub-millisecond sleep without forking: wait on a pipe that never gets data.
exec {SLEEP_FD}<> <(:)
nap() { read -r -t "$1" -u "$SLEEP_FD" || true; }

# Microseconds since the epoch, from bash itself: read ${EPOCHREALTIME/[.,]/} directly, since a
# $(command substitution) forks and costs milliseconds.

# probe PORT PATH: true when GET PATH on 127.0.0.1:PORT answers 200.
probe() {
    local line=""
    {
        printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$2" "$1" >&3
        IFS= read -r -t 2 line <&3
    } 2>/dev/null 3<>"/dev/tcp/127.0.0.1/$1" || return 1
    [[ $line == "HTTP/1."?" 200"* ]]
}

# A port on 127.0.0.1 that nothing listens on (starting at $1, at most 100 tries).
free_port() {
    local port=$1 i
    for ((i = 0; i < 100; i++, port++)); do
        if ! { : 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    echo "no free port from $1" >&2
    return 1
}

build_release() {
    if [[ ${SKIP_BUILD:-0} != 1 ]]; then
        (cd "$REPO_DIR" && cargo build --release --locked --bin whatsdex)
    fi
    [[ -x $BIN ]] || { echo "no release binary at $BIN" >&2; exit 1; }
}

# start_server PORT DATA_DIR LOG: starts `whatsdex serve` on SQLite in DATA_DIR, sets SERVER_PID.
SERVER_PID=""
start_server() {
    env -u DATABASE_URL -u MIGRATION_DATABASE_URL -u REDIS_URL -u ENCRYPTION_KEY \
        PORT="$1" HOST=127.0.0.1 DATA_DIR="$2" \
        "$BIN" serve >>"$3" 2>&1 &
    SERVER_PID=$!
}

# wait_ready PORT PATH TIMEOUT_S: polls until PATH answers 200; fails if the server exits.
wait_ready() {
    local deadline=$(( ${EPOCHREALTIME/[.,]/} + $3 * 1000000 ))
    while ! probe "$1" "$2"; do
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "server exited before $2 answered 200" >&2
            return 1
        fi
        if (( ${EPOCHREALTIME/[.,]/} > deadline )); then
            echo "$2 did not answer 200 within $3 s" >&2
            return 1
        fi
        nap 0.001
    done
}

# stop_server: SIGTERM, then SIGKILL after 10 s; only the process this script started.
stop_server() {
    [[ -n $SERVER_PID ]] || return 0
    if kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        local i
        for ((i = 0; i < 100; i++)); do
            kill -0 "$SERVER_PID" 2>/dev/null || break
            nap 0.1
        done
        if kill -0 "$SERVER_PID" 2>/dev/null; then
            kill -KILL "$SERVER_PID" 2>/dev/null || true
        fi
    fi
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# rss_kib PID: VmRSS of PID in KiB.
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }

# stats: reads numbers, one a line; prints "median p95 min max" (nearest-rank percentiles).
stats() {
    sort -g | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "n/a n/a n/a n/a"; exit }
            p50 = int((NR + 1) / 2); if (NR % 2 == 0) med = (v[NR/2] + v[NR/2 + 1]) / 2; else med = v[p50]
            i95 = int(0.95 * NR); if (i95 < 0.95 * NR) i95++; if (i95 < 1) i95 = 1
            printf "%.1f %.1f %.1f %.1f\n", med, v[i95], v[1], v[NR]
        }'
}
