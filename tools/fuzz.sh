#!/bin/sh
# tools/fuzz.sh BUILD_FUZZ_DIR SECONDS target...
#
# For each target: run the libFuzzer binary BUILD_FUZZ_DIR/<target> for
# SECONDS on a scratch copy of the seed corpus fuzz/corpus/<target>/ (kept in
# BUILD_FUZZ_DIR/corpus/<target>, so the repository is never modified and new
# inputs survive between runs), then replay every seed with
# BUILD_FUZZ_DIR/<target>-replay. Crash files land in
# BUILD_FUZZ_DIR/artifacts/<target>/. Exits non-zero if any target crashed,
# failed a check, or a binary is missing.
set -u

if [ "$#" -lt 3 ]; then
    echo "usage: $0 BUILD_FUZZ_DIR SECONDS target..." >&2
    exit 2
fi
dir=$1
secs=$2
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)

# Sanitizer reports are fatal, with a stack, in both binaries.
ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS UBSAN_OPTIONS

status=0
for t in "$@"; do
    bin=$dir/$t
    replay=$dir/$t-replay
    seeds=$root/fuzz/corpus/$t
    work=$dir/corpus/$t
    arts=$dir/artifacts/$t
    if [ ! -x "$bin" ] || [ ! -x "$replay" ]; then
        echo "fuzz: $t: missing $bin or $replay (make fuzz)" >&2
        status=1
        continue
    fi
    mkdir -p "$work" "$arts"
    if [ -d "$seeds" ]; then
        cp -p "$seeds"/* "$work"/ 2>/dev/null || true
    fi

    echo "fuzz: $t: ${secs}s on $work"
    if ! "$bin" -max_total_time="$secs" -print_final_stats=1 \
            -artifact_prefix="$arts/" "$work" >"$dir/$t.log" 2>&1; then
        echo "fuzz: $t: FAILED, see $dir/$t.log and $arts/" >&2
        tail -n 40 "$dir/$t.log" >&2
        status=1
    else
        grep -E '^(stat::number_of_executed_units|stat::new_units_added)' "$dir/$t.log" |
            sed "s/^/fuzz: $t: /"
    fi

    if [ -d "$seeds" ] && [ -n "$(ls -A "$seeds" 2>/dev/null)" ]; then
        if ! "$replay" "$seeds"/* >"$dir/$t-replay.log" 2>&1; then
            echo "fuzz: $t: seed replay FAILED, see $dir/$t-replay.log" >&2
            tail -n 40 "$dir/$t-replay.log" >&2
            status=1
        else
            echo "fuzz: $t: replayed $(find "$seeds" -type f | wc -l) seeds"
        fi
    else
        echo "fuzz: $t: no seeds in $seeds" >&2
    fi
done
exit $status
