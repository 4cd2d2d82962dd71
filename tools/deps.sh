#!/usr/bin/env bash
# tools/deps.sh - install every Debian package that building and testing roost needs.
#
# Idempotent: asks dpkg which packages are missing and calls apt-get only when
# something is, so a warm run costs a few milliseconds. Runs as root (or through
# sudo when it exists) on Debian 12 (bookworm); never prompts.
#
# Usage: tools/deps.sh            install what is missing
#        tools/deps.sh --list     print the package list and exit
#        tools/deps.sh --check    exit 1 (listing them) if anything is missing
set -euo pipefail

PKGS=(
    # compilers and build tools
    build-essential     # cc, make, libc headers
    clang               # libFuzzer targets (fuzz/)
    libclang-rt-14-dev  # the libFuzzer and sanitizer runtimes clang links with
    llvm                # llvm-symbolizer: readable ASan/UBSan stack traces
    # vendored sources (vendor/): apt-get source, archive formats, sqlite amalgamation
    dpkg-dev
    xz-utils
    ca-certificates
    tcl                 # sqlite's amalgamation build (mksqlite3c.tcl)
    # static checks
    cppcheck            # with its misra addon (tools/misra.sh)
    # tests
    python3
    python3-pytest
    python3-websockets
    curl
    tmux                # rpg family
    iproute2            # `ip link set lo up` inside a fresh network namespace
    util-linux          # unshare
    procps
    # benchmark
    wrk
)

case "${1:-}" in
    --list) printf '%s\n' "${PKGS[@]}"; exit 0 ;;
    --check|"") ;;
    *) echo "usage: $0 [--list|--check]" >&2; exit 2 ;;
esac

missing=()
for p in "${PKGS[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    if [ "$st" != "installed" ]; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "deps: all ${#PKGS[@]} packages present"
    exit 0
fi

if [ "${1:-}" = "--check" ]; then
    echo "deps: missing: ${missing[*]}" >&2
    exit 1
fi

echo "deps: installing: ${missing[*]}"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "deps: not root and no sudo; install as root: ${missing[*]}" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null

# Verify: apt-get can succeed and still leave a package unconfigured.
still=()
for p in "${missing[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$st" = "installed" ] || still+=("$p")
done
if [ "${#still[@]}" -ne 0 ]; then
    echo "deps: still missing after install: ${still[*]}" >&2
    exit 1
fi
echo "deps: installed ${#missing[@]} package(s)"
