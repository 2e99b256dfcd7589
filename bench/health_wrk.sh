#!/usr/bin/env bash
# Throughput and latency of /health (liveness, no I/O) and /api/health (readiness: a database
# round trip) on the release binary with SQLite, under wrk. Loopback only; each wrk run is
# bounded by DURATION.
#
#   bench/health_wrk.sh                         # wrk -t2 -c64 -d10s on both paths
#   THREADS=1 CONNECTIONS=16 DURATION=5s bench/health_wrk.sh
#   SKIP_BUILD=1 bench/health_wrk.sh            # use the release binary as it is
#
# wrk and the server share this machine's cores: the figures are for both on one host.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

THREADS=${THREADS:-2}
CONNECTIONS=${CONNECTIONS:-64}
DURATION=${DURATION:-10s}
[[ $DURATION =~ ^[0-9]+[sm]?$ ]] || { echo "DURATION must look like 10s or 1m" >&2; exit 2; }

if ! command -v wrk >/dev/null; then
    echo "wrk not found: installing it with apt-get" >&2
    SUDO=""
    (( EUID == 0 )) || SUDO=sudo
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends wrk >/dev/null
fi

WORK=$(mktemp -d)
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

build_release
PORT=$(free_port "${PORT:-18080}")
LOG="$WORK/server.log"

start_server "$PORT" "$WORK/data" "$LOG"
wait_ready "$PORT" /api/health 60 || { tail -n 40 "$LOG" >&2; exit 1; }

echo "binary:  $BIN ($("$BIN" --version 2>/dev/null || echo '?'))"
echo "machine: $(nproc) cores (nproc), $(uname -sr); wrk and the server share them"
echo "load:    wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency, on 127.0.0.1:$PORT"
echo "RSS before load: $(( $(rss_kib "$SERVER_PID") / 1024 )) MiB"
echo

summary=()
for path in /health /api/health; do
    out="$WORK/wrk$(tr / _ <<<"$path").txt"
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$PORT$path" | tee "$out"
    echo
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    avg=$(awk '$1 == "Latency" && NF >= 4 { print $2; exit }' "$out")
    p50=$(awk '$1 == "50%" { print $2 }' "$out")
    p99=$(awk '$1 == "99%" { print $2 }' "$out")
    bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
    errs=$(awk '/Socket errors:/ { sub(/^ *Socket errors: */, ""); print }' "$out")
    summary+=("$(printf '%-12s %12s %10s %10s %10s   non-2xx: %s   socket errors: %s' \
        "$path" "$rps" "$avg" "$p50" "$p99" "${bad:-0}" "${errs:-none}")")
done

echo "RSS after load: $(( $(rss_kib "$SERVER_PID") / 1024 )) MiB (peak $(( $(hwm_kib "$SERVER_PID") / 1024 )) MiB)"
echo
printf '%-12s %12s %10s %10s %10s\n' path "requests/s" "lat avg" "lat p50" "lat p99"
printf '%s\n' "${summary[@]}"
