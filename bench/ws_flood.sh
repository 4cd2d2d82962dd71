#!/usr/bin/env bash
# bench/ws_flood.sh - observability /ws under a flood of POST /events, with
# normal subscribers and one stuck subscriber.
#
# Usage: bench/ws_flood.sh [path/to/roostd]        (default build/roostd)
# Env:   EVENTS=50000   events published
#        SUBS=10        normal /ws subscribers (one stuck one is added)
#        DEPTH=64       POST /events pipelined per write
#        WARMUP=1       0: no warm-up flood before the subscribers attach
#
# Starts roostd with only the observability family, on a free port, with a
# throw-away data dir; bench/ws_flood.py then attaches the subscribers,
# floods the events and reports: publish rate, delivery completeness of each
# normal subscriber, what the stuck one got, GET /health latency idle and
# during the flood, and VmRSS. Measures, does not pass or fail: see
# bench/README.md.
set -euo pipefail

EVENTS=${EVENTS:-50000}
SUBS=${SUBS:-10}
DEPTH=${DEPTH:-64}
WARMUP=${WARMUP:-1}
. "$(dirname "$0")/lib.sh"

bench_start "${1:-build/roostd}" observability
echo "target: observability ws://127.0.0.1:$port/ws, $SUBS subscribers + 1 stuck, $EVENTS events"
"$PY" "$(dirname "$0")/ws_flood.py" --port "$port" --pid "$pid" --events "$EVENTS" \
    --subs "$SUBS" --depth "$DEPTH" --warmup "$WARMUP"
grep -E 'closed 1013|fell behind' "$work/err.txt" | sed 's/^/log:    /' || true
