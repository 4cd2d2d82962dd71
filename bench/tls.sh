#!/usr/bin/env bash
# bench/tls.sh - roostd's TLS listener beside nginx (Debian's nginx-light)
# with the same certificate and cipher suite, in one run: keep-alive
# GET /health requests per second over TLS (wrk) and full handshakes per
# second (openssl s_time -new), reported as roostd/nginx ratios.
#
# Usage: bench/tls.sh [path/to/roostd]     (DURATION=10s, SUITE=... to change)
# Needs: wrk, nginx, openssl (tools/deps.sh). A measurement, not a test.
set -euo pipefail

ROOSTD=${1:-build/roostd}
DURATION=${DURATION:-10s}
SECS=${DURATION%s}
SUITE=${SUITE:-ECDHE-ECDSA-AES128-GCM-SHA256}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
for t in wrk nginx openssl; do
    command -v $t >/dev/null || [ -x /usr/sbin/$t ] ||
        { echo "bench: $t not installed (tools/deps.sh)" >&2; exit 1; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
ROOSTD=$(cd "$(dirname "$ROOSTD")" && pwd)/$(basename "$ROOSTD")
work=$(mktemp -d)
rpid= npid=
cleanup() {
    [ -n "$rpid" ] && kill "$rpid" 2>/dev/null && wait "$rpid" 2>/dev/null || true
    [ -n "$npid" ] && kill "$npid" 2>/dev/null && wait "$npid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# one CA and an ECDSA P-256 server certificate for 127.0.0.1
cd "$work"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key 2>/dev/null
openssl req -x509 -new -key ca.key -sha256 -days 2 -subj "/CN=bench CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
    -out ca.pem 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' >srv.ext
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out srv.key 2>/dev/null
openssl req -new -key srv.key -subj /CN=127.0.0.1 -out srv.csr 2>/dev/null
openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -set_serial 1 -days 2 -sha256 \
    -extfile srv.ext -out srv.pem 2>/dev/null

# the servers: one CPU each when there are enough, the clients on the rest
ncpu=$(nproc)
pin_srv=() pin_cli=()
if [ "$ncpu" -ge 2 ] && command -v taskset >/dev/null; then
    pin_srv=(taskset -c 0) pin_cli=(taskset -c 1-$((ncpu - 1)))
fi

rport=$(free_port)
args=("--data_dir=$work/data" "--fleet.port=$rport" "--fleet.tls_cert=$work/srv.pem"
      "--fleet.tls_key=$work/srv.key" "--log_level=warn")
for f in rpg observability documents agents; do args+=("--$f.enabled=false"); done
"${pin_srv[@]}" "$ROOSTD" "${args[@]}" >"$work/roostd.out" 2>"$work/roostd.err" </dev/null &
rpid=$!

nport=$(free_port)
mkdir -p "$work/ng"
cat >"$work/nginx.conf" <<NG
worker_processes 1;
daemon off;
pid $work/ng/nginx.pid;
error_log $work/ng/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    client_body_temp_path $work/ng/body;
    proxy_temp_path $work/ng/proxy;
    fastcgi_temp_path $work/ng/fastcgi;
    uwsgi_temp_path $work/ng/uwsgi;
    scgi_temp_path $work/ng/scgi;
    server {
        listen 127.0.0.1:$nport ssl;
        ssl_certificate $work/srv.pem;
        ssl_certificate_key $work/srv.key;
        ssl_protocols TLSv1.2;
        ssl_ciphers $SUITE;
        ssl_ecdh_curve X25519:prime256v1;
        ssl_session_cache off;
        ssl_session_tickets off;
        location = /health {
            default_type application/json;
            return 200 '{"status":"ok","version":"0.1.0"}';
        }
    }
}
NG
"${pin_srv[@]}" "$NGINX" -c "$work/nginx.conf" -p "$work/ng" >/dev/null 2>&1 &
npid=$!

for p in $rport $nport; do
    for _ in $(seq 1 500); do
        curl -s --cacert "$work/ca.pem" "https://127.0.0.1:$p/health" >/dev/null 2>&1 && break
        sleep 0.02
    done
    curl -sf --cacert "$work/ca.pem" "https://127.0.0.1:$p/health" >/dev/null ||
        { echo "bench: nothing serves TLS on $p" >&2; cat "$work/roostd.err" >&2; exit 1; }
done

keepalive() {   # requests/s of wrk -t1 -c8 over TLS (8: the default profile's handshake slots)
    "${pin_cli[@]}" wrk -t1 -c8 -d "$DURATION" "https://127.0.0.1:$1/health" |
        awk '/Requests\/sec/ {print $2} /Non-2xx|Socket errors/ {print "ERR " $0 > "/dev/stderr"}'
}
handshakes() {  # full handshakes/s of openssl s_time -new (one client, sequential):
                # its count over the wall time we measure (it prints whole seconds)
    local t0 t1 n
    t0=$(date +%s.%N)
    n=$("${pin_cli[@]}" openssl s_time -connect "127.0.0.1:$1" -new -time "$SECS" -tls1_2 \
        -cipher "$SUITE" -CAfile "$work/ca.pem" 2>/dev/null |
        awk '/connections in .* real seconds/ {print $1; exit}')
    t1=$(date +%s.%N)
    awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f\n", n / (b - a) }'
}

echo "roostd: $ROOSTD ($("$ROOSTD" --version | head -1)); nginx: $("$NGINX" -v 2>&1 | sed 's/.*: //')"
echo "host:   $(uname -srm), $ncpu CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "suite:  TLS 1.2 $SUITE, ECDSA P-256 certificate, no session resumption; $DURATION per run"
rk=$(keepalive "$rport"); nk=$(keepalive "$nport")
rh=$(handshakes "$rport"); nh=$(handshakes "$nport")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }'; }
printf '%-34s %12s %12s %8s\n' "measure" "roostd" "nginx" "ratio"
printf '%-34s %12s %12s %8s\n' "keep-alive GET /health (req/s)" "$rk" "$nk" "$(ratio "$rk" "$nk")"
printf '%-34s %12s %12s %8s\n' "full handshakes (per s)" "$rh" "$nh" "$(ratio "$rh" "$nh")"
