#!/usr/bin/env bash
# tools/fuzz.sh BUILD_FUZZ_DIR SECONDS target...
#
# For each target: run the libFuzzer binary BUILD_FUZZ_DIR/<target> for
# SECONDS on a scratch copy of the seed corpus fuzz/corpus/<target>/ (kept in
# BUILD_FUZZ_DIR/corpus/<target>, so the repository is never modified and new
# inputs survive between runs), then replay every seed with
# BUILD_FUZZ_DIR/<target>-replay. Crash files land in
# BUILD_FUZZ_DIR/artifacts/<target>/. Exits non-zero if any target crashed,
# failed a check, or a binary is missing.
#
# FUZZ_JOBS targets (default 2, one per core here) run at once, each for its
# full SECONDS; each target's report is printed whole when it ends.
set -u

if [ "$#" -lt 3 ]; then
    echo "usage: $0 BUILD_FUZZ_DIR SECONDS target..." >&2
    exit 2
fi
dir=$1
secs=$2
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=${FUZZ_JOBS:-2}

# Sanitizer reports are fatal, with a stack, in both binaries.
ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS UBSAN_OPTIONS

# One target: fuzz, then replay its seeds. Prints its report; exit 1 on any
# failure.
one() {
    local t=$1 status=0
    local bin=$dir/$t replay=$dir/$t-replay seeds=$root/fuzz/corpus/$t
    local work=$dir/corpus/$t arts=$dir/artifacts/$t
    if [ ! -x "$bin" ] || [ ! -x "$replay" ]; then
        echo "fuzz: $t: missing $bin or $replay (make fuzz)"
        return 1
    fi
    mkdir -p "$work" "$arts"
    if [ -d "$seeds" ]; then
        cp -p "$seeds"/* "$work"/ 2>/dev/null || true
    fi

    echo "fuzz: $t: ${secs}s on $work"
    if ! "$bin" -max_total_time="$secs" -print_final_stats=1 \
            -artifact_prefix="$arts/" "$work" >"$dir/$t.log" 2>&1; then
        echo "fuzz: $t: FAILED, see $dir/$t.log and $arts/"
        tail -n 40 "$dir/$t.log"
        status=1
    else
        grep -E '^(stat::number_of_executed_units|stat::new_units_added)' "$dir/$t.log" |
            sed "s/^/fuzz: $t: /"
    fi

    if [ -d "$seeds" ] && [ -n "$(ls -A "$seeds" 2>/dev/null)" ]; then
        if ! "$replay" "$seeds"/* >"$dir/$t-replay.log" 2>&1; then
            echo "fuzz: $t: seed replay FAILED, see $dir/$t-replay.log"
            tail -n 40 "$dir/$t-replay.log"
            status=1
        else
            echo "fuzz: $t: replayed $(find "$seeds" -type f | wc -l) seeds"
        fi
    else
        echo "fuzz: $t: no seeds in $seeds"
        status=1
    fi
    return $status
}

# Run the targets FUZZ_JOBS at a time; each writes its report to a file
# that is printed when it ends, so reports never interleave.
mkdir -p "$dir"
status=0
pids=()
names=()
reap() {
    # wait for the oldest running target and print its report
    local pid=${pids[0]} t=${names[0]}
    if ! wait "$pid"; then
        status=1
    fi
    cat "$dir/$t.report"
    pids=("${pids[@]:1}")
    names=("${names[@]:1}")
}
for t in "$@"; do
    if [ "${#pids[@]}" -ge "$jobs" ]; then
        reap
    fi
    one "$t" >"$dir/$t.report" 2>&1 &
    pids+=("$!")
    names+=("$t")
done
while [ "${#pids[@]}" -gt 0 ]; do
    reap
done
exit $status
