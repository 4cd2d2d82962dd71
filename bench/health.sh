#!/usr/bin/env bash
# bench/health.sh - GET /health throughput and tail latency with wrk.
#
# Usage: bench/health.sh [path/to/roostd]        (default build/roostd)
# Env:   DURATION=10s   length of each run
#        FAMILY=fleet   listener to measure (fleet rpg observability documents agents)
#        THREADS50=2    wrk threads for the 50-connection run
#
# Starts roostd with only that family enabled, on a free port, with a
# throw-away data dir; runs wrk with keep-alive at 1 connection (-t1 -c1) and
# at 50 connections (-t2 -c50); prints requests/s and p99 of each; stops roostd.
# This measures, it does not pass or fail: see bench/README.md.
set -euo pipefail

ROOSTD=${1:-build/roostd}
DURATION=${DURATION:-10s}
FAMILY=${FAMILY:-fleet}
THREADS50=${THREADS50:-2}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

command -v wrk >/dev/null || { echo "bench: wrk not installed (make deps)" >&2; exit 1; }
[ -x "$ROOSTD" ] || { echo "bench: $ROOSTD is not an executable" >&2; exit 1; }
ROOSTD=$(cd "$(dirname "$ROOSTD")" && pwd)/$(basename "$ROOSTD")

work=$(mktemp -d)
pid=
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
args=("--data_dir=$work/data" "--$FAMILY.port=$port")
for f in fleet rpg observability documents agents; do
    [ "$f" = "$FAMILY" ] || args+=("--$f.enabled=false")
done

(cd "$work" && exec "$ROOSTD" "${args[@]}" >"$work/out.txt" 2>"$work/err.txt" </dev/null) &
pid=$!
for _ in $(seq 1 500); do
    grep -q ready "$work/out.txt" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { echo "bench: roostd exited:" >&2; cat "$work/err.txt" >&2; exit 1; }
    sleep 0.02
done
grep -q ready "$work/out.txt" || { echo "bench: roostd not ready" >&2; exit 1; }

url="http://127.0.0.1:$port/health"
echo "roostd: $ROOSTD ($("$ROOSTD" --version 2>/dev/null | head -1))"
echo "host:   $(uname -srm), $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "target: $FAMILY $url, $DURATION per run"
rss_before=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")

run() {
    local t=$1 c=$2 out rps p99
    out=$(wrk -t"$t" -c"$c" -d"$DURATION" --latency "$url")
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    errs=$(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr -s ' ' | paste -sd';' || true)
    printf '%-14s requests/s %-12s p99 %-10s %s\n' "-t$t -c$c" "$rps" "$p99" "${errs:-}"
    if [ -n "${VERBOSE:-}" ]; then echo "$out"; fi
}

run 1 1
run "$THREADS50" 50
rss_after=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
echo "roostd VmRSS: ${rss_before} KiB before, ${rss_after} KiB after"
