#!/usr/bin/env bash
# tools/check.sh - what `make check` runs after `make all`: every suite in
# order in the foreground, and beside them, at the lowest CPU priority, the
# builds the later suites need plus the MISRA gate and the fuzz smoke run.
#
# Why: the suites mostly wait (on timers, on sockets, on roostd); run one
# after another with each stage building its own binary first, `make check`
# took about 40 minutes on a 2-core machine, a third of it compiling while
# no test ran. The background here is `nice -n 19`: a test process that
# wakes takes the CPU from it at once, so the suites' timing is what it is
# when they run alone.
#
# The background steps run in the order the foreground needs them; a
# foreground stage that needs one waits for it (need), so no two makes ever
# build the same target at once. Each step's output is build/check/STEP.log;
# a step's log is printed when the stage that needs it starts (misra's and
# the fuzz run's in full, a build's tail), and in full if it failed.
# A failing stage stops everything (the background is killed) and is the
# exit status; its output is the last thing printed.
#
# Stages and steps (make targets):
#   foreground: unit, integration, integration-poll, fault-short,
#               check-plan, integration-small, integration-server, asan,
#               check-lwip, check-aarch64, the Cortex-M size gate
#   background: poll, debug, profiles, asan, misra, fuzz-smoke, lwip,
#               cortexm, aarch64 (builds, except misra and fuzz-smoke)
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
    for step in poll debug profiles asan misra fuzz-smoke lwip cortexm aarch64; do
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

stop() {
    kill -TERM -- "-$bg" 2>/dev/null
    wait "$bg" 2>/dev/null
    echo "==> check FAILED at '$1' after $(( $(date +%s) - t_all ))s"
    exit "$2"
}

# need STEP [full]: wait for a background step; print its log (in full with
# `full`, else its last lines); a failed step fails the check.
need() {
    local step=$1 how=${2:-tail} rc secs
    while [ ! -f "$LOG/$step.rc" ]; do
        if ! kill -0 "$bg" 2>/dev/null; then
            echo "==> background step $step never ran"
            stop "$step" 1
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
    [ "$rc" -eq 0 ] || stop "$step" "$rc"
}

stage() {
    local name=$1 t0 rc
    shift
    t0=$(date +%s)
    echo "==> [$name] $*"
    "$@"
    rc=$?
    echo "==> [$name] rc=$rc in $(( $(date +%s) - t0 ))s"
    [ "$rc" -eq 0 ] || stop "$name" "$rc"
}

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
need asan
stage asan               $MAKE_CMD -j2 asan
need misra full
need fuzz-smoke full
need lwip
stage check-lwip         $MAKE_CMD -j2 check-lwip
need cortexm
stage cortexm-size       $MAKE_CMD -j2 PORT=cortexm PROFILE=small all size
need aarch64
stage check-aarch64      $MAKE_CMD -j2 check-aarch64
wait "$bg"
echo "==> check OK in $(( $(date +%s) - t_all ))s"
