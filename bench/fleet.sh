#!/usr/bin/env bash
# bench/fleet.sh - fleet REST endpoints with wrk: a small object (a bot), a
# COUNT query (stats), a list (all bots) and a soul (content), authenticated.
#
# Usage: bench/fleet.sh [path/to/roostd]        (default build/roostd)
# Env:   DURATION=5s   BOTS=20 (bots created first)   CONNS=16
# Measures, does not pass or fail: see bench/README.md.
set -euo pipefail

DURATION=${DURATION:-5s}
BOTS=${BOTS:-20}
CONNS=${CONNS:-16}
. "$(dirname "$0")/lib.sh"

bench_start "${1:-build/roostd}" fleet
key=$(cat "$work/data/api_key")
base="http://127.0.0.1:$port/api/v1"
for i in $(seq 1 "$BOTS"); do
    curl -sf -o /dev/null -H "X-API-Key: $key" -d "{\"name\":\"Bench Bot $i\"}" "$base/bots"
done
echo "target: fleet $base, $BOTS bots, -t2 -c$CONNS, $DURATION per run"
rss_before=$(bench_rss)
for path in /bots/bench-bot-7 /stats /bots /bots/bench-bot-7/soul; do
    bench_run "GET /api/v1$path" 2 "$CONNS" "$base$path" -H "X-API-Key: $key"
done
echo "roostd VmRSS: ${rss_before} KiB before, $(bench_rss) KiB after"
