#!/usr/bin/env bash
# Time from process start to the first 200 on /api/health, and resident memory, for the
# release binary on SQLite (the embedded default). Loopback only; every loop is bounded.
#
#   bench/startup.sh              # 20 cold + 20 warm runs
#   RUNS=5 bench/startup.sh       # fewer runs
#   SKIP_BUILD=1 bench/startup.sh # use the release binary as it is
#   VERBOSE=1 bench/startup.sh    # also print every run
#
# cold: a fresh DATA_DIR each run, so the server creates, migrates and seeds a new database.
# warm: the same DATA_DIR every run, already migrated and seeded.
# Goals: < 300 ms to the first 200, < 40 MB RSS (VmRSS, idle after start).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

RUNS=${RUNS:-20}
IDLE_S=${IDLE_S:-2}
PATH_READY=/api/health
GOAL_MS=300
GOAL_RSS_MIB=40

(( RUNS >= 1 && RUNS <= 1000 )) || { echo "RUNS must be 1..1000" >&2; exit 2; }

WORK=$(mktemp -d)
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

build_release
PORT=$(free_port "${PORT:-18080}")
LOG="$WORK/server.log"

# one_run DATA_DIR: prints "ms_to_200 rss_at_ready_kib rss_idle_kib hwm_kib".
one_run() {
    local t0 t1 ready idle hwm
    t0=${EPOCHREALTIME/[.,]/}
    start_server "$PORT" "$1" "$LOG"
    wait_ready "$PORT" "$PATH_READY" 30 || { tail -n 40 "$LOG" >&2; return 1; }
    t1=${EPOCHREALTIME/[.,]/}
    ready=$(rss_kib "$SERVER_PID")
    nap "$IDLE_S"
    idle=$(rss_kib "$SERVER_PID")
    hwm=$(hwm_kib "$SERVER_PID")
    stop_server
    printf '%d.%03d %s %s %s\n' $(( (t1 - t0) / 1000 )) $(( (t1 - t0) % 1000 )) "$ready" "$idle" "$hwm"
}

echo "binary:  $BIN ($(du -h "$BIN" | cut -f1), $("$BIN" --version 2>/dev/null || echo '?'))"
echo "machine: $(nproc) cores, $(uname -sr)"
echo "runs:    $RUNS cold + $RUNS warm, port $PORT, readiness path $PATH_READY"
echo

: >"$WORK/cold" ; : >"$WORK/warm"
for ((i = 1; i <= RUNS; i++)); do
    one_run "$WORK/cold-$i" >>"$WORK/cold"
    rm -rf "$WORK/cold-$i"
done

# Warm: migrate and seed once (untimed), then start on the same folder every run.
one_run "$WORK/warm-data" >/dev/null
for ((i = 1; i <= RUNS; i++)); do
    one_run "$WORK/warm-data" >>"$WORK/warm"
done

if [[ ${VERBOSE:-0} == 1 ]]; then
    echo "per run: ms_to_200 rss_at_200_kib rss_idle_kib hwm_kib"
    sed 's/^/cold /' "$WORK/cold"
    sed 's/^/warm /' "$WORK/warm"
    echo
fi

report() { # NAME FILE
    local ms_med ms_p95 ms_min ms_max rr_med rr_max ri_med ri_max hw_max
    read -r ms_med ms_p95 ms_min ms_max < <(awk '{ print $1 }' "$2" | stats)
    read -r rr_med _ _ rr_max < <(awk '{ print $2 / 1024 }' "$2" | stats)
    read -r ri_med _ _ ri_max < <(awk '{ print $3 / 1024 }' "$2" | stats)
    read -r _ _ _ hw_max < <(awk '{ print $4 / 1024 }' "$2" | stats)
    printf '%-5s %8s %8s %8s %8s | %9s %9s | %9s %9s | %9s\n' \
        "$1" "$ms_med" "$ms_p95" "$ms_min" "$ms_max" "$rr_med" "$rr_max" "$ri_med" "$ri_max" "$hw_max"
    echo "$1 $ms_p95 $ri_max" >>"$WORK/verdict"
}

printf '%-5s %8s %8s %8s %8s | %9s %9s | %9s %9s | %9s\n' \
    "" "ms p50" "ms p95" "ms min" "ms max" "RSS@200" "max" "RSS idle" "max" "peak(HWM)"
printf '%-5s %8s %8s %8s %8s | %9s %9s | %9s %9s | %9s\n' \
    "" "" "" "" "" "MiB p50" "MiB" "MiB p50" "MiB" "MiB max"
: >"$WORK/verdict"
report cold "$WORK/cold"
report warm "$WORK/warm"
echo
while read -r name p95 rss; do
    awk -v n="$name" -v p="$p95" -v r="$rss" -v gm="$GOAL_MS" -v gr="$GOAL_RSS_MIB" 'BEGIN {
        printf "%s: p95 %s ms to first 200 (goal < %d: %s), idle RSS max %s MiB (goal < %d: %s)\n",
            n, p, gm, (p < gm ? "met" : "MISSED"), r, gr, (r < gr ? "met" : "MISSED") }'
done <"$WORK/verdict"
