#!/usr/bin/env bash
# vendor/fetch.sh - fetch, verify, unpack and prepare third-party sources.
#
#   vendor/fetch.sh [pkg...]       every package of vendor/lock, or the named ones
#   vendor/fetch.sh --deb-src-only make sure apt has a deb-src entry, nothing else
#
# For each package: when build/vendor/.stamp-<pkg> matches the lock lines,
# prepare function and patch list of the package and its outputs exist,
# nothing happens (no network). Otherwise the archives named in vendor/lock
# are taken from the download cache (${ROOST_VENDOR_CACHE:-build/vendor/dl})
# when their sha256 matches, or downloaded with
# `apt-get source --download-only pkg=version` first. Every archive is
# checked against the lock; a missing file or a wrong sha256 stops the run
# with the file, the expected and the actual hash. The archives are unpacked
# into build/vendor/src/<pkg>-<version>/ and the package's prepare_* function
# below puts its headers in build/vendor/include/ and any generated source in
# build/vendor/src/.
#
# deb-src: when no deb-src entry is configured, one is derived from the
# machine's own Debian sources (deb822 debian.sources copied with
# `Types: deb-src`, or sources.list `deb ` lines turned into `deb-src `), so no
# mirror host is ever written here. `apt-get update` runs only after adding
# that entry, or when apt-get source cannot find the package or version.
#
# Runs are serialized with flock, so parallel make jobs can call this safely.
set -euo pipefail

cd "$(dirname "$0")/.."
LOCK=vendor/lock
VDIR=build/vendor
DL=${ROOST_VENDOR_CACHE:-$VDIR/dl}
APT_ETC=${ROOST_APT_ETC:-/etc/apt}
UPDATED=0

say() { echo "vendor: $*" >&2; }
die() { echo "vendor: error: $*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        die "need root for: $*"
    fi
}

# ---- the lock ----------------------------------------------------------------

lock_lines() { # pkg -> its lock lines
    awk -v p="$1" '$0 !~ /^[[:space:]]*(#|$)/ && $1 == p' "$LOCK"
}

lock_packages() { # every package, in lock order, once
    awk '$0 !~ /^[[:space:]]*(#|$)/ { if (NF != 4) { bad = 1; print "bad lock line: " $0 > "/dev/stderr" }
         else if (!seen[$1]++) print $1 } END { exit bad }' "$LOCK"
}

lock_version() { # pkg -> its version (one per package)
    local vers
    vers=$(lock_lines "$1" | awk '{ print $2 }' | sort -u)
    [ -n "$vers" ] || die "$1: not in $LOCK"
    [ "$(printf '%s\n' "$vers" | wc -l)" = 1 ] || die "$1: several versions in $LOCK"
    printf '%s\n' "$vers"
}

# verify pkg loud: 0 when every locked archive of pkg is in the cache with
# its sha256; with loud=1 each problem is reported.
verify() {
    local pkg=$1 loud=$2 rc=0 file want got
    while read -r _ _ file want; do
        if [ ! -f "$DL/$file" ]; then
            [ "$loud" = 1 ] && say "$file: missing from $DL (expected sha256 $want)"
            rc=1
            continue
        fi
        got=$(sha256sum "$DL/$file" | cut -d' ' -f1)
        if [ "$got" != "$want" ]; then
            [ "$loud" = 1 ] && say "$file: sha256 mismatch: expected $want, got $got"
            rc=1
        fi
    done < <(lock_lines "$pkg")
    return $rc
}

# ---- deb-src -------------------------------------------------------------------

have_deb_src() {
    local f
    for f in "$APT_ETC"/sources.list "$APT_ETC"/sources.list.d/*.list; do
        if [ -f "$f" ] && grep -Eq '^[[:space:]]*deb-src[[:space:]]' "$f"; then
            return 0
        fi
    done
    for f in "$APT_ETC"/sources.list.d/*.sources; do
        if [ -f "$f" ] && grep -Eiq '^Types:([[:space:]].*)?[[:space:]]deb-src([[:space:]]|$)' "$f"; then
            return 0
        fi
    done
    return 1
}

ensure_deb_src() {
    local d822=$APT_ETC/sources.list.d/debian.sources one=$APT_ETC/sources.list
    local out tmp
    if have_deb_src; then
        return 0
    fi
    mkdir -p "$VDIR"
    tmp=$VDIR/deb-src.tmp
    if [ -f "$d822" ]; then
        out=$APT_ETC/sources.list.d/roost-deb-src.sources
        { echo "# deb-src twin of debian.sources, added by roost vendor/fetch.sh"
          sed -E 's/^Types:.*$/Types: deb-src/I' "$d822"; } >"$tmp"
    elif [ -f "$one" ] && grep -Eq '^[[:space:]]*deb[[:space:]]' "$one"; then
        out=$APT_ETC/sources.list.d/roost-deb-src.list
        { echo "# deb-src twin of sources.list, added by roost vendor/fetch.sh"
          sed -nE 's/^[[:space:]]*deb([[:space:]])/deb-src\1/p' "$one"; } >"$tmp"
    else
        die "no Debian sources in $APT_ETC (sources.list.d/debian.sources or sources.list) to derive deb-src from"
    fi
    as_root install -m 0644 "$tmp" "$out"
    rm -f "$tmp"
    say "added $out"
    apt_update
}

apt_update() {
    if [ "$UPDATED" = 0 ]; then
        say "apt-get update"
        as_root apt-get -q update >"$VDIR/apt-update.log" 2>&1 ||
            { tail -n 20 "$VDIR/apt-update.log" >&2; die "apt-get update failed"; }
        UPDATED=1
    fi
}

# download pkg ver: apt-get source into the cache. Its exit status is not
# trusted either way (jsmn's .debian.tar.xz is missing on some mirrors, which
# we do not need); verify decides.
download() {
    local pkg=$1 ver=$2 sandbox=() log=$VDIR/apt-source-$1.log
    [ "$(id -u)" = 0 ] && sandbox=(-o APT::Sandbox::User=root)
    say "$pkg $ver: apt-get source --download-only"
    mkdir -p "$DL"
    (cd "$DL" && apt-get -q "${sandbox[@]}" source --download-only "$pkg=$ver") >"$log" 2>&1 || true
}

fetch() { # pkg ver
    if verify "$1" 0; then
        return 0
    fi
    ensure_deb_src
    download "$1" "$2"
    if ! verify "$1" 0 && [ "$UPDATED" = 0 ] &&
        grep -Eq "Unable to find a source package|Can not find version|deb-src" "$VDIR/apt-source-$1.log"; then
        apt_update
        download "$1" "$2"
    fi
    if ! verify "$1" 1; then
        tail -n 20 "$VDIR/apt-source-$1.log" >&2 || true
        die "$1 $2: archives do not match $LOCK (see above)"
    fi
}

# ---- unpack and prepare --------------------------------------------------------------

unpack() { # pkg dir
    local file comp
    rm -rf "$2"
    mkdir -p "$2"
    while read -r _ _ file _; do
        case $file in
            *.orig.tar.*) tar -xf "$DL/$file" -C "$2" --strip-components=1 ;;
            *.orig-*.tar.*)
                comp=${file#*.orig-}
                comp=${comp%%.tar.*}
                mkdir -p "$2/$comp"
                tar -xf "$DL/$file" -C "$2/$comp" --strip-components=1 ;;
            *.debian.tar.*) tar -xf "$DL/$file" -C "$2" ;;
            *) die "$file: unknown archive kind" ;;
        esac
    done < <(lock_lines "$1")
}

OUTPUTS=()

put() { # src dst(relative to $VDIR); an unchanged file keeps its mtime
    mkdir -p "$(dirname "$VDIR/$2")"
    if ! cmp -s "$1" "$VDIR/$2"; then
        install -m 0644 "$1" "$VDIR/$2"
    fi
    OUTPUTS+=("$2")
}

# sqlite3: Debian's upstream fixes and roost's own (vendor/sqlite3.patches), then the
# amalgamation from the full source tree (needs tclsh; configure runs
# out of tree so the unpacked sources stay as shipped plus patches).
prepare_sqlite3() {
    local dir=$1 p log=$VDIR/build-sqlite3.log
    command -v tclsh >/dev/null 2>&1 ||
        die "tclsh not found: the sqlite3 amalgamation needs it (Debian package tcl; tools/deps.sh installs it)"
    apply_patches sqlite3 "$dir"
    say "sqlite3: making the amalgamation"
    mkdir -p "$dir/bld"
    # Our caller may be make: its flags and command-line variables must not
    # leak into sqlite's own build.
    if ! (unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES
          cd "$dir/bld" &&
          ../configure --disable-tcl --disable-readline --disable-shared &&
          make -j"$(nproc 2>/dev/null || echo 2)" sqlite3.c) >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        die "sqlite3: amalgamation build failed (full log: $log)"
    fi
    put "$dir/bld/sqlite3.h" include/sqlite3.h
    put "$dir/bld/sqlite3.c" src/sqlite3.c
}

prepare_jsmn() {
    put "$1/jsmn.h" include/jsmn.h
}

# apply_patches pkg dir: the patches vendor/<pkg>.patches names, in order.
# A bare name is one of Debian's (the package's debian/patches/); a name
# with a slash is one of roost's own, relative to the repository root
# (vendor/<pkg>-<what>.patch, -p1 like Debian's), hashed into the stamp key.
apply_patches() {
    local p f
    while read -r p; do
        case $p in
            '' | '#'*) continue ;;
            */*) f=$p ;;
            *) f=$2/debian/patches/$p ;;
        esac
        [ -f "$f" ] || die "$1: patch $p: no such file ($f)"
        patch -d "$2" -p1 -s -N <"$f" || die "$1: patch $p does not apply"
    done <"vendor/$1.patches"
}

# put_key pkg: src/<pkg>.key holds the package's stamp key. vendor.mk builds
# a library when its key file is newer than the library: it changes exactly
# when the package is prepared again from other inputs (then the unpacked
# tree, and whatever was built inside it, is new too).
put_key() {
    stamp_key "$1" >"$VDIR/.key-$1.tmp"
    put "$VDIR/.key-$1.tmp" "src/$1.key"
    rm -f "$VDIR/.key-$1.tmp"
}

# run_quiet log cmd...: cmd with make's flags unset (our caller may be make:
# its jobserver and command-line variables must not leak into a package's
# configure), output to log; on failure the log's tail, then stop.
run_quiet() {
    local log=$1
    shift
    if ! (unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES; "$@") >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        die "failed: $* (full log: $log)"
    fi
}

# mbedtls: headers only. vendor.mk compiles the library with our options
# (vendor/mbedtls_config.h, installed as include/mbedtls/config.h by
# vendor.mk, so upstream's default config.h is not put here). Debian carries
# no patches for 2.28.3-1.
prepare_mbedtls() {
    local h
    for h in "$1"/include/mbedtls/*.h; do
        [ "$(basename "$h")" = config.h ] && continue
        put "$h" "include/mbedtls/$(basename "$h")"
    done
    put_key mbedtls
}

# c-ares: Debian's security fixes (vendor/c-ares.patches), then the release
# tarball's configure, out of tree in bld/ (no autoconf). vendor.mk runs make
# there. Options: a static library only (roostd links it), no test suite (it
# needs C++/gmock), no compiler-flag games (warnings, debug, -Werror), no
# dependency tracking (a changed key rebuilds everything anyway). c-ares
# starts no threads in any configuration.
prepare_c_ares() {
    local dir=$1
    apply_patches c-ares "$dir"
    say "c-ares: configure"
    mkdir -p "$dir/bld"
    run_quiet "$VDIR/build-c-ares.log" sh -c 'cd "$1" && ../configure CFLAGS="-O2 -g" \
        --disable-shared --enable-static --disable-tests --disable-debug \
        --disable-warnings --disable-werror --disable-dependency-tracking' sh "$dir/bld"
    put "$dir/include/ares.h" include/ares.h
    put "$dir/include/ares_version.h" include/ares_version.h
    put "$dir/include/ares_dns.h" include/ares_dns.h
    put "$dir/include/ares_rules.h" include/ares_rules.h
    put "$dir/include/ares_nameser.h" include/ares_nameser.h
    put "$dir/bld/include/ares_build.h" include/ares_build.h
    put_key c-ares
}

# curl: Debian's fixes (vendor/curl.patches) and the public headers. curl's
# configure runs in vendor.mk (vendor/curl.mk has the line), because it
# links test programs against the mbedtls and c-ares libraries built there.
prepare_curl() {
    local h
    apply_patches curl "$1"
    for h in "$1"/include/curl/*.h; do
        put "$h" "include/curl/$(basename "$h")"
    done
    put_key curl
}

# lwip: Debian's fixes (vendor/lwip.patches), nothing else. The headers stay
# in the source tree (src/include: only port/lwip and the lwIP objects see
# them, never src/); vendor/lwip.mk compiles the sources with port/lwip's
# lwipopts.h and single-threaded sys_arch. The package has no contrib tree:
# the TAP network interface is roost's own (port/lwip/tapif.c).
prepare_lwip() {
    apply_patches lwip "$1"
    put_key lwip
}

# ---- stamps --------------------------------------------------------------------

prep_fn() { # pkg -> name of its prepare function
    echo "prepare_${1//[^a-zA-Z0-9]/_}"
}

# What a package's outputs depend on: its lock lines, its prepare function,
# its patch list and roost's own patches on it (Debian's are covered by the
# lock). A missing patch file hashes as "missing": apply_patches stops on it.
stamp_key() {
    local p
    lock_lines "$1"
    declare -f "$(prep_fn "$1")" | sha256sum | cut -d' ' -f1
    if [ -f "vendor/$1.patches" ]; then
        sha256sum "vendor/$1.patches" | cut -d' ' -f1
        while read -r p; do
            case $p in
                '' | '#'*) ;;
                */*) if [ -f "$p" ]; then sha256sum "$p" | cut -d' ' -f1; else echo "missing $p"; fi ;;
            esac
        done <"vendor/$1.patches"
    fi
}

stamp_ok() { # pkg
    local stamp=$VDIR/.stamp-$1 f
    [ -f "$stamp" ] || return 1
    [ "$(grep -v '^out ' "$stamp")" = "$(stamp_key "$1")" ] || return 1
    while read -r f; do
        [ -f "$VDIR/$f" ] || return 1
    done < <(sed -n 's/^out //p' "$stamp")
    return 0
}

one_package() { # pkg
    local pkg=$1 ver dir f
    if stamp_ok "$pkg"; then
        touch "$VDIR/.stamp-$pkg"   # newer than the lock for make
        return 0
    fi
    ver=$(lock_version "$pkg")
    declare -F "$(prep_fn "$pkg")" >/dev/null || die "$pkg: no $(prep_fn "$pkg") in vendor/fetch.sh"
    fetch "$pkg" "$ver"
    dir=$VDIR/src/$pkg-$ver
    unpack "$pkg" "$dir"
    OUTPUTS=()
    "$(prep_fn "$pkg")" "$dir"
    { stamp_key "$pkg"; for f in "${OUTPUTS[@]}"; do echo "out $f"; done; } >"$VDIR/.stamp-$pkg.tmp"
    mv "$VDIR/.stamp-$pkg.tmp" "$VDIR/.stamp-$pkg"
    say "$pkg $ver: ready"
}

main() {
    local pkgs=() p
    mkdir -p "$VDIR/include" "$VDIR/src"
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$VDIR/.lock"
        flock 9
    fi
    if [ "${1:-}" = "--deb-src-only" ]; then
        ensure_deb_src
        return 0
    fi
    if [ $# -gt 0 ]; then
        pkgs=("$@")
    else
        mapfile -t pkgs < <(lock_packages)
    fi
    lock_packages >/dev/null || die "$LOCK is malformed"
    for p in "${pkgs[@]}"; do
        one_package "$p"
    done
}

main "$@"
