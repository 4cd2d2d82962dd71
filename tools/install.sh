#!/bin/sh
# tools/install.sh - install roostd as a systemd service, or remove it
# (`make install`, `make uninstall`; README "Installing as a service").
#
# Usage: tools/install.sh install|uninstall
# Environment (all optional):
#   DESTDIR              staging root, prepended to every path written
#   PREFIX               /usr/local
#   BINDIR               $PREFIX/bin
#   SYSCONFDIR           /etc (also with PREFIX=/usr/local)
#   UNITDIR              $PREFIX/lib/systemd/system (systemd reads both
#                        /usr/lib/... and /usr/local/lib/...)
#   ROOSTD               the binary to install (build/roostd)
#   MEMORY_HEADROOM_MIB  added to `roostd --budget`'s total for MemoryMax (32)
#   MEMORY_MAX           MemoryMax as written, instead of computing it (for a
#                        cross-built binary this machine cannot run)
#   SERVICE_USER         run as this existing user instead of DynamicUser=yes
#                        (the rpg family talking to that user's tmux server)
#
# install writes: $BINDIR/roostd, $UNITDIR/roostd.service (from
# tools/roostd.service.in) and $SYSCONFDIR/roost/roost.conf (from
# etc/roost/roost.conf) unless a config is already there: an existing
# config is never overwritten. uninstall removes the binary and the unit and
# keeps the config (and the data in /var/lib/roost).
set -eu

here=$(cd "$(dirname "$0")/.." && pwd)
action=${1:-}
DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
BINDIR=${BINDIR:-$PREFIX/bin}
# /etc whatever the prefix: the service reads its config where admins look.
SYSCONFDIR=${SYSCONFDIR:-/etc}
UNITDIR=${UNITDIR:-$PREFIX/lib/systemd/system}
ROOSTD=${ROOSTD:-$here/build/roostd}
MEMORY_HEADROOM_MIB=${MEMORY_HEADROOM_MIB:-32}
SERVICE_USER=${SERVICE_USER:-}

CONFIG=$SYSCONFDIR/roost/roost.conf
UNIT=$UNITDIR/roostd.service

say() { printf 'install: %s\n' "$*"; }
die() { printf 'install: %s\n' "$*" >&2; exit 1; }

case "$action" in
install)
    [ -x "$ROOSTD" ] || die "$ROOSTD is not built (run make first)"
    case "$MEMORY_HEADROOM_MIB" in
        ''|*[!0-9]*) die "MEMORY_HEADROOM_MIB must be a number of MiB" ;;
    esac
    budget=
    if [ -z "${MEMORY_MAX:-}" ]; then
        # The static plan of this build: the `total` line of --budget. The
        # plan is the binary's alone: no config file, an empty environment
        # (a ROOST_* variable of the caller's would be refused).
        budget=$(env -i "$ROOSTD" --budget --config /dev/null |
                 awk '$1 == "total" { print $2; exit }') ||
            die "cannot run $ROOSTD --budget (cross-built? set MEMORY_MAX)"
        case "$budget" in
            ''|*[!0-9]*) die "no total in $ROOSTD --budget (set MEMORY_MAX)" ;;
        esac
        mib=1048576
        MEMORY_MAX=$(( (budget + MEMORY_HEADROOM_MIB * mib + mib - 1) / mib ))M
    fi
    if [ -n "$SERVICE_USER" ]; then
        user_mode="SERVICE_USER=$SERVICE_USER: its own tmux server and home, read-only"
        user_lines="User=$SERVICE_USER"
        # The user's tmux socket is in /tmp/tmux-UID and the panes' projects
        # and transcripts in the home directory: both stay visible, and /tmp
        # writable (ProtectSystem=strict) so a tmux server can be started
        # there when the user has none running.
        home_lines="ProtectHome=read-only
PrivateTmp=no
ReadWritePaths=/tmp"
    else
        user_mode="DynamicUser=yes; make install SERVICE_USER=NAME for the rpg family on that user's tmux"
        user_lines="DynamicUser=yes"
        home_lines="ProtectHome=yes
PrivateTmp=yes"
    fi

    mkdir -p "$DESTDIR$BINDIR" "$DESTDIR$UNITDIR" "$DESTDIR$SYSCONFDIR/roost"
    install -m 0755 "$ROOSTD" "$DESTDIR$BINDIR/roostd"
    say "$DESTDIR$BINDIR/roostd"

    tmp="$DESTDIR$UNIT.tmp.$$"
    # awk, not sed: the substituted text may hold / and newlines.
    awk -v bindir="$BINDIR" -v config="$CONFIG" -v memmax="$MEMORY_MAX" \
        -v budget="${budget:-unknown (MEMORY_MAX given)}" -v headroom="$MEMORY_HEADROOM_MIB" \
        -v umode="$user_mode" -v ulines="$user_lines" -v hlines="$home_lines" '
        function sub_all(s, k, v) { while ((i = index(s, k)) > 0) s = substr(s, 1, i - 1) v substr(s, i + length(k)); return s }
        {
            l = $0
            l = sub_all(l, "@BINDIR@", bindir); l = sub_all(l, "@CONFIG@", config)
            l = sub_all(l, "@MEMORY_MAX@", memmax); l = sub_all(l, "@BUDGET_BYTES@", budget)
            l = sub_all(l, "@HEADROOM_MIB@", headroom); l = sub_all(l, "@USER_MODE@", umode)
            l = sub_all(l, "@USER_LINES@", ulines); l = sub_all(l, "@HOME_LINES@", hlines)
            print l
        }' "$here/tools/roostd.service.in" > "$tmp"
    if grep -q '@[A-Z_]*@' "$tmp"; then
        rm -f "$tmp"
        die "tools/roostd.service.in has a placeholder install.sh does not fill"
    fi
    chmod 0644 "$tmp"
    mv -f "$tmp" "$DESTDIR$UNIT"
    say "$DESTDIR$UNIT (MemoryMax=$MEMORY_MAX)"

    if [ -e "$DESTDIR$CONFIG" ]; then
        say "$DESTDIR$CONFIG exists: kept"
    else
        install -m 0644 "$here/etc/roost/roost.conf" "$DESTDIR$CONFIG"
        say "$DESTDIR$CONFIG"
    fi
    if [ -z "$DESTDIR" ]; then
        say "next: systemctl daemon-reload && systemctl enable --now roostd"
    fi
    ;;
uninstall)
    for f in "$DESTDIR$BINDIR/roostd" "$DESTDIR$UNIT"; do
        if [ -e "$f" ]; then
            rm -f "$f"
            say "removed $f"
        fi
    done
    say "kept $DESTDIR$CONFIG and /var/lib/roost (remove them by hand)"
    ;;
*)
    echo "usage: $0 install|uninstall" >&2
    exit 2
    ;;
esac
