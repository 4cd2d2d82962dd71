#!/usr/bin/env bash
# tools/check_os_headers.sh - src/ stays portable.
#
# Fails, listing file:line, when a .c/.h file under the scanned directory
#   - includes an OS header (sys/*, unistd.h, poll.h, pthread.h, netinet/*,
#     arpa/*, fcntl.h, signal.h, dirent.h, netdb.h, termios.h, dlfcn.h, sched.h,
#     errno.h, time.h, windows.h, lwip/*, ...): only port/ talks to the OS;
#     errno values and time(2) are OS facts, so errno.h and time.h are banned too;
#   - calls the system heap (malloc, calloc, realloc, free, strdup, strndup,
#     posix_memalign, aligned_alloc, reallocarray, memalign, valloc, pvalloc,
#     alloca): memory is caller buffers, static arrays or pools.
# Comments and string literals are ignored; `x.free(` / `x->free(` (a member
# named free) and names that merely contain a banned word (pool_free) are fine.
# A header that resolves to a file of the project is ours, whatever its name
# (src/net/conn.h is "net/conn.h", not the OS's <net/...>): it is looked up
# like the compiler does, beside the including file and under the include
# roots -I. -Isrc -Iport -Ibuild/vendor/include (and each scanned directory).
#
# Usage: tools/check_os_headers.sh              self-test, then scan src/
#        tools/check_os_headers.sh DIR...       scan DIR... only
#        tools/check_os_headers.sh --self-test  prove the checker can fail
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BANNED_HEADERS='sys/.*|unistd\.h|poll\.h|pthread\.h|netinet/.*|arpa/.*|fcntl\.h|signal\.h|dirent\.h|netdb\.h|termios\.h|dlfcn\.h|sched\.h|errno\.h|time\.h|threads\.h|malloc\.h|alloca\.h|semaphore\.h|spawn\.h|pwd\.h|grp\.h|syslog\.h|ifaddrs\.h|net/.*|linux/.*|asm/.*|windows\.h|winsock2\.h|ws2tcpip\.h|io\.h|lwip/.*'
BANNED_CALLS='malloc|calloc|realloc|reallocarray|free|strdup|strndup|posix_memalign|aligned_alloc|memalign|valloc|pvalloc|alloca'

# scan_file FILE: print "FILE:LINE: reason" for each violation.
scan_file() {
    local dir
    dir=$(dirname "$1")
    awk -v file="$1" -v dir="$dir" -v hdr="^(${BANNED_HEADERS})$" -v calls="${BANNED_CALLS}" '
    BEGIN {
        inblk = 0
        while ((getline line < ENVIRON["CHK_PROJECT_HEADERS"]) > 0) { ours[line] = 1 }
    }
    {
        line = $0; code = ""; nostr = ""; i = 1; n = length(line)
        # Strip comments (block state carries across lines); keep strings in
        # `code` (for #include "x.h") and blank them in `nostr` (for calls).
        while (i <= n) {
            c = substr(line, i, 1); c2 = substr(line, i, 2)
            if (inblk) {
                if (c2 == "*/") { inblk = 0; i += 2 } else { i++ }
                continue
            }
            if (c2 == "/*") { inblk = 1; i += 2; code = code " "; nostr = nostr " "; continue }
            if (c2 == "//") { break }
            if (c == "\"" || c == "\047") {
                q = c; code = code c; nostr = nostr " "; i++
                while (i <= n) {
                    c = substr(line, i, 1)
                    if (c == "\\") { code = code substr(line, i, 2); i += 2; continue }
                    code = code c; i++
                    if (c == q) { break }
                }
                continue
            }
            code = code c; nostr = nostr c; i++
        }
        if (code ~ /^[ \t]*#[ \t]*include[ \t]*[<"]/) {
            h = code
            sub(/^[ \t]*#[ \t]*include[ \t]*[<"]/, "", h)
            sub(/[>"].*$/, "", h)
            if (h ~ hdr && !((h in ours) || ((dir "/" h) in ours))) {
                printf "%s:%d: OS header <%s> (only port/ may include it)\n", file, NR, h; bad = 1
            }
        }
        rest = nostr
        while (match(rest, "(^|[^A-Za-z0-9_.>])(" calls ")[ \t]*\\(")) {
            m = substr(rest, RSTART, RLENGTH)
            sub(/^[^A-Za-z_]/, "", m); sub(/[ \t]*\($/, "", m)
            printf "%s:%d: system heap call %s() (use a pool or a caller buffer)\n", file, NR, m
            bad = 1
            rest = substr(rest, RSTART + RLENGTH)
        }
    }
    END { exit bad ? 1 : 0 }' "$1"
}

# scan DIR...: scan every .c/.h file; exit 1 if any violation.
scan() {
    local bad=0 files=0 f
    for d in "$@"; do
        if [ ! -d "$d" ]; then
            echo "check_os_headers: no such directory: $d" >&2
            return 2
        fi
    done
    # Every header of the project, named relative to each include root, and
    # by its own path (for includes relative to the including file).
    local list root
    list=$(mktemp)
    for root in "$ROOT" "$ROOT/src" "$ROOT/port" "$ROOT/build/vendor/include" "$@"; do
        [ -d "$root" ] || continue
        (cd "$root" && find . -type f -name '*.h' | sed 's|^\./||') >>"$list"
    done
    find "$@" -type f -name '*.h' >>"$list"
    export CHK_PROJECT_HEADERS=$list
    while IFS= read -r -d '' f; do
        files=$((files + 1))
        scan_file "$f" || bad=1
    done < <(find "$@" -type f \( -name '*.c' -o -name '*.h' \) -print0 | sort -z)
    rm -f "$list"
    if [ "$bad" -ne 0 ]; then
        echo "check_os_headers: FAIL ($files files scanned in $*)" >&2
        return 1
    fi
    echo "check_os_headers: ok ($files files scanned in $*)"
}

self_test() {
    local t rc out
    t=$(mktemp -d)
    trap 'rm -rf "$t"' RETURN
    mkdir -p "$t/good/core" "$t/good/net" "$t/inc/net" "$t/call/x" "$t/blk"
    echo '/* ours */' >"$t/good/net/conn.h"
    echo '/* ours */' >"$t/good/core/time.h"
    cat >"$t/good/core/a.c" <<'EOF'
#include <string.h>
#include <stdint.h>
#include "core/pool.h"
#include "net/conn.h"
#include "time.h"
/* malloc(1) in a comment, #include <unistd.h> in a comment */
// free(p); is a comment too
static const char *s = "calloc(3) in a string";
void pool_free(void *p);
void f(struct ops *o, void *p) { pool_free(p); o->free(p); o[0].free(p); (void)s; }
EOF
    printf '#include <stdio.h>\n#  include <sys/socket.h>\n#include "net/if.h"\n' >"$t/inc/net/b.c"
    printf 'void g(void);\nvoid g(void) {\n    char *p = strdup("x");\n    free (p);\n}\n' >"$t/call/x/c.c"
    printf '/* open\n malloc(1) */ #include <time.h>\n' >"$t/blk/d.h"

    if ! out=$(scan "$t/good" 2>&1); then
        echo "check_os_headers self-test: clean tree reported as bad:" >&2
        echo "$out" >&2
        return 1
    fi
    for case in inc call; do
        set +e
        out=$(scan "$t/$case" 2>&1)
        rc=$?
        set -e
        if [ "$rc" -ne 1 ]; then
            echo "check_os_headers self-test: bad tree '$case' passed (rc=$rc):" >&2
            echo "$out" >&2
            return 1
        fi
    done
    # Exact findings: file:line and the name, so a regression in the matcher shows.
    out=$(scan "$t/inc" "$t/call" 2>&1 || true)
    for want in "net/b.c:2: OS header <sys/socket.h>" "net/b.c:3: OS header <net/if.h>" \
                "x/c.c:3: system heap call strdup()" \
                "x/c.c:4: system heap call free()"; do
        if ! grep -qF "$want" <<<"$out"; then
            echo "check_os_headers self-test: expected '$want' in:" >&2
            echo "$out" >&2
            return 1
        fi
    done
    # A directive after a multi-line comment is still a directive (C11 5.1.1.2).
    if scan "$t/blk" >/dev/null 2>&1; then
        echo "check_os_headers self-test: include after a block comment missed" >&2
        return 1
    fi
    echo "check_os_headers: self-test ok"
}

case "${1:-}" in
    --self-test) self_test ;;
    "")
        cd "$(dirname "$0")/.."
        self_test
        scan src
        ;;
    -*) echo "usage: $0 [--self-test | DIR...]" >&2; exit 2 ;;
    *) scan "$@" ;;
esac
