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
. "$(dirname "$0")/lib.sh"

bench_start "$ROOSTD" "$FAMILY"
url="http://127.0.0.1:$port/health"
echo "target: $FAMILY $url, $DURATION per run"
rss_before=$(bench_rss)

run() {
    bench_run "-t$1 -c$2" "$1" "$2" "$url"
}

run 1 1
run "$THREADS50" 50
rss_after=$(bench_rss)
echo "roostd VmRSS: ${rss_before} KiB before, ${rss_after} KiB after"
