#!/usr/bin/env bash
# tools/deps.sh - install every Debian package that building and testing roost needs.
#
# Idempotent: asks dpkg which packages are missing and calls apt-get only when
# something is, so a warm run costs a few milliseconds. Runs as root (or through
# sudo when it exists) on Debian 12 (bookworm); never prompts.
#
# Usage: tools/deps.sh [run|all] [--list|--check]
#   run      what building and running roostd needs
#   all      (default) that plus everything `make check` and `make bench` use
#   --list   print the package list and exit
#   --check  exit 1 (listing them) if any is missing; install nothing
set -euo pipefail

# Build and run: compiler, make, and what vendor/fetch.sh needs to take the
# pinned sources from Debian (apt-get source, archive formats, sqlite's tcl
# build of its amalgamation); tmux is the rpg family's runtime dependency.
RUN_PKGS=(
    build-essential     # cc, make, libc headers
    dpkg-dev            # apt-get source
    patch               # vendor patches (vendor/*.patches)
    xz-utils
    ca-certificates
    tcl                 # sqlite's amalgamation build (mksqlite3c.tcl)
    tmux                # rpg family
)
# Tests, static checks, fuzzing, benchmark.
TEST_PKGS=(
    clang               # libFuzzer targets (fuzz/)
    libclang-rt-14-dev  # the libFuzzer and sanitizer runtimes clang links with
    llvm                # llvm-symbolizer: readable ASan/UBSan stack traces
    cppcheck            # with its misra addon (tools/misra.sh)
    python3
    systemd             # systemd-analyze verify: tests/integration/test_install.py
    python3-pytest
    python3-websockets
    curl
    openssl             # tests/integration/fakellm.py, tlslib.py: throwaway test CAs; bench/tls.sh
    iproute2            # `ip link set lo up` inside a fresh network namespace
    util-linux          # unshare
    procps
    wrk                 # bench/
    nginx-light         # bench/: the server roostd is compared with
    strace              # bench/peers.py: system calls per request
    valgrind            # bench/peers.py: callgrind, instructions per request
    gcc-aarch64-linux-gnu   # make ARCH=aarch64 (check-aarch64)
    libc6-dev-arm64-cross   # its libc, linked statically
    qemu-user               # qemu-aarch64: the aarch64 unit and smoke tests
    gcc-arm-none-eabi       # make PORT=cortexm PROFILE=small (the board image)
    libnewlib-arm-none-eabi # its C library
)

set_name=all
action=install
for a in "$@"; do
    case "$a" in
        run|all) set_name=$a ;;
        --list) action=list ;;
        --check) action=check ;;
        *) echo "usage: $0 [run|all] [--list|--check]" >&2; exit 2 ;;
    esac
done
PKGS=("${RUN_PKGS[@]}")
if [ "$set_name" = all ]; then
    PKGS+=("${TEST_PKGS[@]}")
fi
if [ "$action" = list ]; then
    printf '%s\n' "${PKGS[@]}"
    exit 0
fi

missing=()
for p in "${PKGS[@]}"; do
    st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    if [ "$st" != "installed" ]; then
        missing+=("$p")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "deps: all ${#PKGS[@]} packages ($set_name) present"
    exit 0
fi

if [ "$action" = check ]; then
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
