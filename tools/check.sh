#!/usr/bin/env bash
# tools/check.sh - what `make check` runs after `make all`: the suites in
# two lanes, and beside them, at the lowest CPU priority, the builds the
# suites need plus the MISRA gate and the fuzz smoke run.
#
# Why: the suites mostly wait (on timers, on sockets, on roostd): the small
# profile's suite, for one, keeps a core busy a quarter of its wall time.
# Run one after another with each stage building its own binary first,
# `make check` took about 40 minutes on a 2-core machine, a third of it
# compiling while no test ran; with the builds beside the suites, 31.6
# minutes, the last 12 of them one suite at a time with a core idle. So:
#
#   lane 1 (here):  unit, integration, integration-poll, fault-short,
#                   check-plan, integration-small, integration-server
#   lane 2 (beside it, from the moment the sanitizer build is ready):
#                   asan, check-lwip, the Cortex-M size gate, check-aarch64
#   background:     asan, lwip, poll, debug, profiles, misra, fuzz-smoke,
#                   cortexm, aarch64 (builds, except misra and fuzz-smoke)
#
# The background is `nice -n 19`: a test process that wakes takes the CPU
# from it at once. Lane 2 is `nice -n 5` and runs each stage in a network
# namespace of its own (unshare -n, loopback up; root, as check-lwip
# already needs), with a TMPDIR of its own: the two lanes' servers, fake
# providers and clients never meet on a port or a path, however their
# free-port picks fall.
#
# The background steps run in the order the lanes need them; a stage that
# needs one waits for it (need), so no two makes ever build the same target
# at once. Each step's output is build/check/STEP.log; a step's log is
# printed when the stage that needs it starts (misra's and the fuzz run's
# in full, a build's tail), and in full if it failed. Lane 2's output is
# build/check/lane2.log, printed whole when it ends.
# A failing stage stops everything (the background and the other lane are
# killed) and is the exit status; its output is the last thing printed.
set -uo pipefail

cd "$(dirname "$0")/.."
MAKE_CMD=${MAKE:-make}
# Each make here has its own jobserver (-j2), not the caller's.
unset MAKEFLAGS MFLAGS MAKELEVEL
LOG=build/check
rm -rf "$LOG"
mkdir -p "$LOG"
t_all=$(date +%s)

background() {
    local step rc t0
    for step in asan lwip poll debug profiles misra fuzz-smoke cortexm aarch64; do
        t0=$(date +%s)
        case $step in
            poll)       $MAKE_CMD -j2 LOOP=poll all ;;
            debug)      $MAKE_CMD -j2 debug ;;
            profiles)   $MAKE_CMD -j2 PROFILE=server all && $MAKE_CMD -j2 PROFILE=small all ;;
            asan)       $MAKE_CMD -j2 BUILD=build/asan SAN=1 all unit-bin \
                            build/asan/tools/llm_fetch build/asan/tools/llm_call ;;
            misra)      $MAKE_CMD misra ;;
            fuzz-smoke) $MAKE_CMD -j2 fuzz-smoke ;;
            lwip)       $MAKE_CMD -j2 PORT=lwip PROFILE=small all ;;
            cortexm)    $MAKE_CMD -j2 PORT=cortexm PROFILE=small all ;;
            aarch64)    $MAKE_CMD -j2 ARCH=aarch64 all unit-bin ;;
        esac >"$LOG/$step.log" 2>&1
        rc=$?
        echo "$rc $(( $(date +%s) - t0 ))" >"$LOG/$step.rc.tmp"
        mv "$LOG/$step.rc.tmp" "$LOG/$step.rc"
    done
}

# setsid: the background is a process group of its own, killed whole. A
# new session is also a new autogroup where the kernel has them
# (sched_autogroup_enabled): the CPU is then shared between groups before
# nice counts, so the group itself is set to nice 19 too.
setsid nice -n 19 bash -c "echo 19 >/proc/self/autogroup 2>/dev/null; \
    $(declare -f background); LOG=$LOG MAKE_CMD='$MAKE_CMD'; background" &
bg=$!

LANE2=$LOG/lane2
lane2_pid=

stop() {
    kill -TERM -- "-$bg" 2>/dev/null
    if [ -n "$lane2_pid" ]; then
        kill -TERM -- "-$lane2_pid" 2>/dev/null
        wait "$lane2_pid" 2>/dev/null
        [ -f "$LANE2.rc" ] || echo "==> (lane 2 stopped: its log is $LANE2.log)"
    fi
    wait "$bg" 2>/dev/null
    echo "==> check FAILED at '$1' after $(( $(date +%s) - t_all ))s"
    exit "$2"
}

# Lane 2 failed: its whole log, then stop at it.
lane2_check() {
    local rc
    if [ -f "$LANE2.rc" ]; then
        read -r rc <"$LANE2.rc"
        if [ "$rc" -ne 0 ]; then
            echo "==> lane 2 failed (rc=$rc):"
            cat "$LANE2.log"
            stop "$(cat "$LANE2.stage" 2>/dev/null || echo lane2)" "$rc"
        fi
    fi
}

# need STEP [full]: wait for a background step; print its log (in full with
# `full`, else its last lines); a failed step fails the check.
need() {
    local step=$1 how=${2:-tail} rc secs
    while [ ! -f "$LOG/$step.rc" ]; do
        if ! kill -0 "$bg" 2>/dev/null; then
            echo "==> background step $step never ran"
            fail "$step" 1
        fi
        sleep 1
    done
    read -r rc secs <"$LOG/$step.rc"
    echo "==> [background $step] rc=$rc in ${secs}s (log: $LOG/$step.log)"
    if [ "$rc" -ne 0 ] || [ "$how" = full ]; then
        cat "$LOG/$step.log"
    else
        tail -n 3 "$LOG/$step.log"
    fi
    [ "$rc" -eq 0 ] || fail "$step" "$rc"
}

stage() {
    local name=$1 t0 rc
    shift
    t0=$(date +%s)
    echo "==> [$name] $*"
    "$@"
    rc=$?
    echo "==> [$name] rc=$rc in $(( $(date +%s) - t0 ))s"
    [ "$rc" -eq 0 ] || fail "$name" "$rc"
    [ "${IN_LANE2:-0}" = 1 ] || lane2_check     # lane 1: has lane 2 failed?
}

# In lane 1 a failure stops everything; in lane 2 it ends the lane with its
# status (lane 1 sees it after its running stage, in stage).
fail() {
    if [ "${IN_LANE2:-0}" = 1 ]; then
        echo "$1" >"$LANE2.stage"
        exit "$2"
    fi
    stop "$1" "$2"
}

# A command in a network namespace of its own, loopback up.
isolated() {
    unshare -n bash -c 'ip link set lo up && exec "$@"' isolated "$@"
}

lane2() {
    IN_LANE2=1
    renice -n 5 -p "$BASHPID" >/dev/null
    export TMPDIR=$lane2_tmp
    need asan
    stage asan               isolated $MAKE_CMD -j2 asan
    need lwip
    stage check-lwip         isolated $MAKE_CMD -j2 check-lwip
    need cortexm
    stage cortexm-size       $MAKE_CMD -j2 PORT=cortexm PROFILE=small all size
    need aarch64
    stage check-aarch64      isolated $MAKE_CMD -j2 check-aarch64
}

lane2_tmp=$(mktemp -d /tmp/roost-check-lane2.XXXXXX)
trap 'rm -rf "$lane2_tmp"' EXIT
# set -m: lane 2 is a process group of its own, killed whole
set -m
( (lane2); echo $? >"$LANE2.rc.tmp"; mv "$LANE2.rc.tmp" "$LANE2.rc" ) >"$LANE2.log" 2>&1 &
lane2_pid=$!
set +m

stage unit               $MAKE_CMD -j2 unit
stage integration        $MAKE_CMD -j2 integration
need poll
stage integration-poll   $MAKE_CMD -j2 integration-poll
need debug
stage fault-short        $MAKE_CMD -j2 fault-short
need profiles
stage check-plan         $MAKE_CMD -j2 check-plan
stage integration-small  $MAKE_CMD -j2 integration-small
stage integration-server $MAKE_CMD -j2 integration-server
need misra full
need fuzz-smoke full
echo "==> lane 1 done in $(( $(date +%s) - t_all ))s; waiting for lane 2"
wait "$lane2_pid"
lane2_check
lane2_pid=
echo "==> lane 2:"
cat "$LANE2.log"
wait "$bg"
echo "==> check OK in $(( $(date +%s) - t_all ))s"
