#!/usr/bin/env bash
# tools/misra.sh - cppcheck with the MISRA C:2012 addon over src/ and port/.
#
# The gate: every finding that is neither suppressed in
# tools/misra-suppressions.txt (one line per deviated rule, each recorded with
# its reason in MISRA.md) nor suppressed inline (`// cppcheck-suppress misra-c2012-X.Y`
# with a reason on the same line) fails the build.
#
# Usage: tools/misra.sh          the gate (what `make misra` runs)
#        tools/misra.sh --all    no suppressions file: every finding, for
#                                deciding fix vs deviate (never fails)
# Output: the findings, a histogram by rule, and one summary line. The full
# report is kept in build/misra/report.txt.
#
# Without the MISRA rule texts (not redistributable) the addon prints rule
# numbers only; MISRA.md gives the headline of each rule we deviate from.
set -euo pipefail

cd "$(dirname "$0")/.."
SUPP=tools/misra-suppressions.txt
OUT=build/misra
# The build dir keeps cppcheck's .dump/.ctu-info files out of the source tree
# and makes re-runs incremental.
mkdir -p "$OUT/cache-gate" "$OUT/cache-all"
REPORT=$OUT/report.txt

mode=gate
case "${1:-}" in
    --all) mode=all ;;
    "") ;;
    *) echo "usage: $0 [--all]" >&2; exit 2 ;;
esac

# cppcheck runs the addon with `python3` from PATH unless told otherwise; pin
# Debian's interpreter so a user's pyenv/venv cannot change the result.
ADDON_PY=/usr/bin/python3
[ -x "$ADDON_PY" ] || ADDON_PY=$(command -v python3)

args=(--addon=misra --addon-python="$ADDON_PY" --cppcheck-build-dir="$OUT/cache-$mode"
      --enable=style,warning,portability --std=c11 --inline-suppr
      -I. -Isrc -Iport -Ibuild/vendor/include
      # The shipped configuration only: every CFG_* at its config.h default
      # (ROOST_CONFIG_OVERRIDE is for unit builds). Exploring every #ifdef
      # combination multiplies the time and checks builds nobody ships.
      # No profile header either: config.h's defaults are the server
      # profile, with every family and the LLM stack built.
      --max-configs=1 -UROOST_CONFIG_OVERRIDE -UROOST_PROFILE_HEADER
      # Third-party headers are read for types, not judged.
      --suppress='*:build/vendor/*' --suppress='*:vendor/*' --suppress=toomanyconfigs
      --template='{file}:{line}:{column}: {severity}: {message} [{id}]'
      -q)
if [ "$mode" = gate ]; then
    [ -f "$SUPP" ] || { echo "misra: $SUPP missing" >&2; exit 1; }
    args+=(--suppressions-list="$SUPP" --error-exitcode=1)
fi

t0=$(date +%s)
set +e
# The poll backend defines the same functions as the epoll one (a build
# links one of them, LOOP=): it is checked in a pass of its own (where the
# headers' macros it does not use are not findings: 2.5 is whole-program).
# port/cortexm defines the same port functions as port/linux (a build links
# one port; in one pass they would be 8.6 findings): it is checked in a pass
# of its own, below; so is port/lwip. port/none (what both of them lack)
# is checked in each of their passes.
cppcheck "${args[@]}" -iport/linux/loop_poll.c -iport/lwip -iport/cortexm -iport/none \
    -isrc/core/sha256_x86.c src port \
    >"$OUT/stdout.txt" 2>"$REPORT"
rc=$?
mkdir -p "$OUT/cache-$mode-poll"
cppcheck "${args[@]/cache-$mode/cache-$mode-poll}" --suppress=misra-c2012-2.5 port/linux/loop_poll.c \
    >>"$OUT/stdout.txt" 2>>"$REPORT"
rc2=$?
[ "$rc" -ne 0 ] || rc=$rc2
# The lwIP port (port/lwip) defines port.h's sockets and loop again (a
# build links port/linux's or its own): a pass of its own, with lwIP's
# headers (the unpacked Debian package; read for types, not judged) and
# port/lwip's options, as `make PORT=lwip` compiles it (2.5 as above).
LWIP_INC=$(ls -d build/vendor/src/lwip-*/src/include 2>/dev/null | head -n 1)
if [ -z "$LWIP_INC" ]; then
    echo "misra: lwIP's headers are missing (vendor/fetch.sh lwip)" >&2
    rc=1
else
    mkdir -p "$OUT/cache-$mode-lwip"
    # 2.3-2.5 are whole-program rules this part of the program cannot judge
    # (src/'s headers' types and macros are used elsewhere); 5.5 is lwIP's
    # sys.h, 10.4 and 10.8 in plan_check.c lwIP's size macros (MISRA.md,
    # "The lwIP port").
    cppcheck "${args[@]/cache-$mode/cache-$mode-lwip}" --suppress=misra-c2012-2.3 \
        --suppress=misra-c2012-2.4 --suppress=misra-c2012-2.5 \
        --suppress=misra-c2012-5.5:port/lwip/sys_arch.c \
        --suppress=misra-c2012-5.5:port/lwip/arch/sys_arch.h \
        --suppress=misra-c2012-10.4:port/lwip/plan_check.c \
        --suppress=misra-c2012-10.8:port/lwip/plan_check.c \
        -Iport/lwip -I"$LWIP_INC" -DPORT_LWIP=1 port/lwip port/none \
        >>"$OUT/stdout.txt" 2>>"$REPORT"
    rc2=$?
    [ "$rc" -ne 0 ] || rc=$rc2
fi
# The SHA-256 x86 path compiles only where __x86_64__ and __GNUC__ are
# defined, which cppcheck never predefines: it and sha256.c (whose choice of
# path depends on it) are checked in that configuration, in a pass of their
# own (2.5 as above). cppcheck does not read the compiler's <immintrin.h>,
# so what it cannot judge there is listed in MISRA.md ("SHA-256 on x86").
mkdir -p "$OUT/cache-$mode-x86"
cppcheck "${args[@]/cache-$mode/cache-$mode-x86}" --suppress=misra-c2012-2.5 \
    -D__x86_64__ -D__GNUC__ src/core/sha256_x86.c src/core/sha256.c \
    >>"$OUT/stdout.txt" 2>>"$REPORT"
rc2=$?
[ "$rc" -ne 0 ] || rc=$rc2
# port/cortexm (PORT=cortexm), in a pass of its own for the reason above.
# The headers it includes from src/ and port/port.h are judged in the main
# pass, where every user of their macros and types is in sight; here the
# whole-program rules (2.3, 2.4, 2.5: unused types, tags, macros) would count
# only this port's uses of them, so they are off for every file outside
# port/cortexm, and stay on for the port's own files.
mkdir -p "$OUT/cache-$mode-cortexm"
cppcheck "${args[@]/cache-$mode/cache-$mode-cortexm}" \
    --suppress='misra-c2012-2.3:src/*' --suppress='misra-c2012-2.4:src/*' \
    --suppress='misra-c2012-2.5:src/*' --suppress='misra-c2012-2.5:port/port.h' \
    --suppress='misra-c2012-2.5:config.h' port/cortexm port/none \
    >>"$OUT/stdout.txt" 2>>"$REPORT"
rc2=$?
[ "$rc" -ne 0 ] || rc=$rc2
set -e
secs=$(( $(date +%s) - t0 ))

# cppcheck prints findings on stderr; anything else there (tool errors) too.
findings=$(grep -E '^[^ ].*:[0-9]+:[0-9]+: [a-z]+: .*\[[A-Za-z0-9_.-]+\]$' "$REPORT" || true)
n=0
[ -n "$findings" ] && n=$(printf '%s\n' "$findings" | wc -l)

if [ "$n" -gt 0 ]; then
    printf '%s\n' "$findings"
    echo "---- findings by rule"
    printf '%s\n' "$findings" | sed -E 's/.*\[([^]]+)\]$/\1/' | sort | uniq -c | sort -rn
    echo "---- findings by file"
    printf '%s\n' "$findings" | cut -d: -f1 | sort | uniq -c | sort -rn
fi
other=$(cat "$OUT/stdout.txt" "$REPORT" \
        | grep -vE '^[^ ].*:[0-9]+:[0-9]+: [a-z]+: .*\[[A-Za-z0-9_.-]+\]$|^ *\^ *$' \
        | grep -E 'error|Error|Traceback|Failed' || true)
if [ "$rc" -ne 0 ] && [ "$n" -eq 0 ] && [ -z "$other" ]; then
    other=$(tail -20 "$OUT/stdout.txt" "$REPORT")
fi
if [ -n "$other" ]; then
    echo "---- cppcheck/addon errors"
    printf '%s\n' "$other"
fi

# The suppressions file and MISRA.md's deviation table must name the same rules.
# MISRA.md: a "## Deviations" section whose table rows start with `| X.Y |`.
drift=0
if [ "$mode" = gate ] && [ -f MISRA.md ]; then
    supp_rules=$(sed -nE 's/^misra-c2012-([0-9]+\.[0-9]+).*/\1/p' "$SUPP" | sort -u)
    doc_rules=$(awk '/^## /{ind = ($0 ~ /^## +Deviations/)} ind' MISRA.md \
                | sed -nE 's/^\| *(Rule +)?([0-9]+\.[0-9]+) *\|.*/\2/p' | sort -u)
    only_supp=$(comm -23 <(printf '%s\n' "$supp_rules") <(printf '%s\n' "$doc_rules") | sed '/^$/d')
    only_doc=$(comm -13 <(printf '%s\n' "$supp_rules") <(printf '%s\n' "$doc_rules") | sed '/^$/d')
    if [ -n "$only_supp" ]; then
        echo "misra: suppressed but not recorded in MISRA.md's Deviations: $(echo $only_supp)"
        drift=1
    fi
    if [ -n "$only_doc" ]; then
        echo "misra: recorded in MISRA.md's Deviations but not in $SUPP: $(echo $only_doc)"
        drift=1
    fi
elif [ "$mode" = gate ]; then
    echo "misra: warning: MISRA.md not found; deviations are unrecorded"
fi

rules=0
[ "$n" -gt 0 ] && rules=$(printf '%s\n' "$findings" | sed -E 's/.*\[([^]]+)\]$/\1/' | sort -u | wc -l)
nfiles=$(find src port -type f \( -name '*.c' -o -name '*.h' \) | wc -l)
echo "misra: $mode: $n finding(s) in $rules rule(s), $nfiles files, ${secs}s (cppcheck rc=$rc)"

if [ "$mode" = all ]; then
    exit 0
fi
if [ "$rc" -ne 0 ] || [ "$n" -gt 0 ] || [ "$drift" -ne 0 ] || [ -n "$other" ]; then
    exit 1
fi
