# bench/lib.sh - what the bench scripts share: start one roostd family on a
# free port with a throw-away data dir (stopped on exit), and one wrk run.
# Sourced, not run. Sets: ROOSTD (absolute), work, pid, port.

PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

bench_start() {   # bench_start ROOSTD FAMILY
    ROOSTD=$1
    local family=$2 f args
    command -v wrk >/dev/null || { echo "bench: wrk not installed (tools/deps.sh)" >&2; exit 1; }
    [ -x "$ROOSTD" ] || { echo "bench: $ROOSTD is not an executable" >&2; exit 1; }
    ROOSTD=$(cd "$(dirname "$ROOSTD")" && pwd)/$(basename "$ROOSTD")
    work=$(mktemp -d)
    pid=
    trap bench_cleanup EXIT
    port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    args=("--data_dir=$work/data" "--$family.port=$port")
    for f in fleet rpg observability documents agents; do
        [ "$f" = "$family" ] || args+=("--$f.enabled=false")
    done
    (cd "$work" && exec "$ROOSTD" "${args[@]}" >"$work/out.txt" 2>"$work/err.txt" </dev/null) &
    pid=$!
    for _ in $(seq 1 500); do
        grep -q ready "$work/out.txt" 2>/dev/null && break
        kill -0 "$pid" 2>/dev/null || { echo "bench: roostd exited:" >&2; cat "$work/err.txt" >&2; exit 1; }
        sleep 0.02
    done
    grep -q ready "$work/out.txt" || { echo "bench: roostd not ready" >&2; exit 1; }
    echo "roostd: $ROOSTD ($("$ROOSTD" --version 2>/dev/null | head -1))"
    echo "host:   $(uname -srm), $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
}

bench_cleanup() {
    if [ -n "${pid:-}" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "${work:-/nonexistent}"
}

bench_rss() {
    awk '/VmRSS/ {print $2}' "/proc/$pid/status"
}

bench_run() {   # bench_run LABEL THREADS CONNS URL [wrk args...]
    local label=$1 t=$2 c=$3 url=$4 out rps p99 errs
    shift 4
    out=$(wrk -t"$t" -c"$c" -d"$DURATION" --latency "$@" "$url")
    rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    errs=$(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr -s ' ' | paste -sd';' || true)
    printf '%-34s requests/s %-12s p99 %-10s %s\n' "$label" "$rps" "$p99" "${errs:-}"
    if [ -n "${VERBOSE:-}" ]; then echo "$out"; fi
}
