#!/usr/bin/env bash
# bench/peers.sh - roostd beside nginx, the ceiling and an older build, in
# one run: one table of measures, ratios and issue 12's targets
# (bench/peers.py says what each measure is; bench/README.md "Peers").
#
# Usage: bench/peers.sh [path/to/roostd] [--before OLD] [peers.py options]
#        e.g. bench/peers.sh --reps 3 --seconds 3 --profile
# Env:   BEFORE=path/to/old/roostd   passed as --before unless one is given
#
# Builds what is missing first: build/roostd (`make`) when it is the one
# measured, the ceiling and the fan-out client (build/bench/, from
# bench/ceiling.c and bench/fanout.c). Measures, does not pass or fail.
set -euo pipefail

cd "$(dirname "$0")/.."
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

roostd=build/roostd
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    roostd=$1
    shift
fi
if [ "$roostd" = build/roostd ] && [ ! -x build/roostd ]; then
    make -j2 build/roostd
fi
[ -x "$roostd" ] || { echo "peers: $roostd is not an executable" >&2; exit 1; }

for tool in wrk strace taskset valgrind; do
    command -v "$tool" >/dev/null || { echo "peers: $tool is not installed (tools/deps.sh)" >&2; exit 1; }
done

mkdir -p build/bench
for t in ceiling fanout; do
    if [ ! -x "build/bench/$t" ] || [ "bench/$t.c" -nt "build/bench/$t" ]; then
        cc -O2 -Wall -Wextra -o "build/bench/$t" "bench/$t.c"
    fi
done

args=()
have_before=
for a in "$@"; do
    case "$a" in --before|--before=*) have_before=1 ;; esac
done
if [ -z "$have_before" ] && [ -n "${BEFORE:-}" ]; then
    args+=(--before "$BEFORE")
fi
exec "$PY" bench/peers.py "$roostd" "${args[@]}" "$@"
