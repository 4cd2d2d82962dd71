#!/bin/sh
# tests/port/lwip_ns.sh - the network the lwIP port's tests run in: called
# as `unshare -n tests/port/lwip_ns.sh CMD...` (root), so everything here is
# in a fresh network namespace of its own and vanishes with it.
#
# Four TAP devices roost0..roost3, one per roostd running at once (a suite
# keeps one server per module and starts others beside it). Every roostd
# takes the same address, 192.168.7.2 (ROOST_HOST, where the clients
# connect), each on its own link: the host side is 192.168.7.1 on every
# device, and the client's route to 192.168.7.2 is chosen by destination
# port, a table per device (roostlib.Server adds `ip rule ... dport P table
# 100+K` for its ports when it takes roostK). rp_filter is off: a reply
# comes in on the device the connection went out on, not the main table's.
#
# Then CMD runs with ROOSTD (build/lwip/roostd unless set), ROOST_HOST,
# ROOST_LWIP_TAPS and ROOST_ROOSTD_ARGS (the flags every roostd gets).
set -eu
cd "$(dirname "$0")/../.."
TAPS=4
ip link set lo up
sysctl -q -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
k=0
while [ "$k" -lt "$TAPS" ]; do
    ip tuntap add dev "roost$k" mode tap
    sysctl -q -w "net.ipv4.conf.roost$k.rp_filter=0"
    ip addr add 192.168.7.1/32 dev "roost$k"
    ip link set "roost$k" up
    ip route add 192.168.7.0/24 dev "roost$k" src 192.168.7.1 table $((100 + k))
    k=$((k + 1))
done
ip route add 192.168.7.0/24 dev roost0 src 192.168.7.1
export ROOSTD="${ROOSTD:-$PWD/build/lwip/roostd}"
export ROOST_HOST=192.168.7.2
export ROOST_LWIP_TAPS=$TAPS
export ROOST_ROOSTD_ARGS="--lwip.address=192.168.7.2/24"
exec "$@"
