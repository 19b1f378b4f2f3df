#!/usr/bin/env bash
# The fault world for the end-to-end tests (issue 11): a real BIND9 and a real nginx on loopback.
#
#   test/e2e/world.sh up     start everything; writes $STPP_E2E_DIR/world.env (KEY=VALUE lines)
#   test/e2e/world.sh down   stop everything, delete the nft table, remove the loopback addresses
#   test/e2e/world.sh status
#
# Needs root and the Debian packages bind9, bind9-utils, dnsutils, nginx, nftables, openssl,
# iproute2 (.ci/run installs them), and a built tree (`pnpm exec tsc --build`: nginx proxies to the
# simulator's gateway for real API answers). Only 127.0.0.0/8 is ever used.
#
# Addresses:
#   127.0.10.1-3:53   named, authoritative for securetrading.test (NS ns1-ns3), query log on
#   127.0.10.4:53     swallows every query (nft drop, with a counter)
#   127.0.20.N:8443   nginx, one TLS case per address (see CASES below), own access log per case
#   127.0.20.11:8443  stall: nginx with the good chain, but nft drops every segment that carries
#                     data to it: TCP connects, the ClientHello never arrives, TLS never completes
#   127.0.30.1:8443   black hole: nft drops the SYNs, so a connect times out (never "refused")
#   127.0.0.2-4:9400  the simulator's gateway (node), nginx's upstream for POST /json/
set -Eeuo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
DIR="${STPP_E2E_DIR:-/tmp/stpp-e2e-world}"
ZONE="securetrading.test"
NS_ADDRS=(127.0.10.1 127.0.10.2 127.0.10.3)
SWALLOW_ADDR=127.0.10.4
BLACKHOLE_ADDR=127.0.30.1
TLS_PORT=8443
SIM_PORT="${STPP_E2E_SIM_PORT:-9400}"
NFT_TABLE=stpp_e2e
# case name : address : certificate : protocols
CASES=(
  "good:127.0.20.1:good:TLSv1.2 TLSv1.3"
  "rotated:127.0.20.2:rotated:TLSv1.2 TLSv1.3"
  "expired:127.0.20.3:expired:TLSv1.2 TLSv1.3"
  "notyetvalid:127.0.20.4:notyetvalid:TLSv1.2 TLSv1.3"
  "wrongname:127.0.20.5:wrongname:TLSv1.2 TLSv1.3"
  "selfsigned:127.0.20.6:selfsigned:TLSv1.2 TLSv1.3"
  "unknownroot:127.0.20.7:unknownroot:TLSv1.2 TLSv1.3"
  "nointermediate:127.0.20.8:nointermediate:TLSv1.2 TLSv1.3"
  "tls10:127.0.20.9:good:TLSv1"
  "reset:127.0.20.10:good:TLSv1.2 TLSv1.3"
  "stall:127.0.20.11:good:TLSv1.2 TLSv1.3"
  "tls12:127.0.20.12:good:TLSv1.2"
  "tls13:127.0.20.13:good:TLSv1.3"
)
STALL_ADDR=127.0.20.11

log() { echo "world: $*" >&2; }
die() { log "$*"; exit 1; }

need() {
  [ "$(id -u)" = 0 ] || die "must run as root (loopback addresses, nft, named on port 53)"
  for c in named nsupdate dig nginx nft openssl ip tsig-keygen node; do
    command -v "$c" >/dev/null 2>&1 || die "missing $c (apt-get install bind9 bind9-utils dnsutils nginx nftables openssl iproute2)"
  done
  [ -f "$ROOT/packages/simulator/dist/bin.js" ] || die "build first: pnpm exec tsc --build"
}

# -----------------------------------------------------------------------------
# the CA: root, intermediate, every kind of leaf (openssl ca, so dates can be set)
# -----------------------------------------------------------------------------
make_pki() {
  local P="$DIR/pki"
  mkdir -p "$P/db" "$P/new" "$P/other"
  : >"$P/db/index.txt"
  echo 1000 >"$P/db/serial"
  cat >"$P/ca.cnf" <<EOF
[ ca ]
default_ca = inter
[ inter ]
dir = $P
database = \$dir/db/index.txt
serial = \$dir/db/serial
new_certs_dir = \$dir/new
certificate = \$dir/inter.pem
private_key = \$dir/inter.key
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[ any ]
commonName = supplied
[ root ]
dir = $P
database = \$dir/db/index.txt
serial = \$dir/db/serial
new_certs_dir = \$dir/new
certificate = \$dir/root.pem
private_key = \$dir/root.key
default_md = sha256
policy = any
unique_subject = no
[ v3_inter ]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
  local q=(-batch -notext -config "$P/ca.cnf")
  key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
  # the trusted root and its intermediate
  key "$P/root.key"
  openssl req -x509 -new -key "$P/root.key" -sha256 -days 3650 -subj "/O=stpp e2e/CN=stpp e2e root" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$P/root.pem"
  key "$P/inter.key"
  openssl req -new -key "$P/inter.key" -subj "/O=stpp e2e/CN=stpp e2e intermediate" -out "$P/inter.csr"
  openssl ca "${q[@]}" -name root -extensions v3_inter -days 1825 -in "$P/inter.csr" -out "$P/inter.pem" 2>/dev/null
  # an untrusted root (same names, other key) and its own leaf
  key "$P/other/root.key"
  openssl req -x509 -new -key "$P/other/root.key" -sha256 -days 3650 -subj "/O=stpp e2e/CN=stpp e2e untrusted root" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$P/other/root.pem"

  leaf() { # name sans start end [issuer: inter|other]
    local name=$1 sans=$2 start=$3 end=$4 issuer=${5:-inter}
    key "$P/$name.key"
    openssl req -new -key "$P/$name.key" -subj "/O=stpp e2e/CN=${sans%%,*}" -out "$P/$name.csr"
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' \
      "$(echo "$sans" | sed 's/\([^,]*\)/DNS:\1/g')" >"$P/$name.ext"
    if [ "$issuer" = other ]; then
      openssl x509 -req -in "$P/$name.csr" -CA "$P/other/root.pem" -CAkey "$P/other/root.key" -CAcreateserial \
        -days 365 -extfile "$P/$name.ext" -out "$P/$name.pem" 2>/dev/null
      cp "$P/$name.pem" "$P/$name.chain.pem"
    else
      openssl ca "${q[@]}" -startdate "$start" -enddate "$end" -extfile "$P/$name.ext" -in "$P/$name.csr" \
        -out "$P/$name.pem" 2>/dev/null
      cat "$P/$name.pem" "$P/inter.pem" >"$P/$name.chain.pem"
    fi
  }
  local y; y=$(date -u +%Y)
  local now_start; now_start="$(date -u -d '-1 hour' +%Y%m%d%H%M%SZ)"
  local next_year; next_year="$((y + 1))1231000000Z"
  local all="webservices.$ZONE"
  leaf good "good.$ZONE,$all,tls10.$ZONE,reset.$ZONE,tls12.$ZONE,tls13.$ZONE" "$now_start" "$next_year"
  leaf rotated "rotated.$ZONE,$all" "$now_start" "$next_year"
  leaf expired "expired.$ZONE,$all" "$((y - 2))0101000000Z" "$((y - 1))0101000000Z"
  leaf notyetvalid "notyetvalid.$ZONE,$all" "$((y + 2))0101000000Z" "$((y + 3))0101000000Z"
  leaf wrongname "gateway.wrong-name.example.test" "$now_start" "$next_year"
  leaf unknownroot "unknownroot.$ZONE,$all" "" "" other
  leaf nointermediate "nointermediate.$ZONE,$all" "$now_start" "$next_year"
  cp "$P/nointermediate.pem" "$P/nointermediate.chain.pem" # the leaf alone: the intermediate is missing
  key "$P/selfsigned.key"
  openssl req -x509 -new -key "$P/selfsigned.key" -sha256 -days 365 -subj "/O=stpp e2e/CN=selfsigned.$ZONE" \
    -addext "subjectAltName=DNS:selfsigned.$ZONE" -out "$P/selfsigned.pem"
  cp "$P/selfsigned.pem" "$P/selfsigned.chain.pem"
}

# -----------------------------------------------------------------------------
# named
# -----------------------------------------------------------------------------
start_named() {
  local N="$DIR/named"
  mkdir -p "$N"
  tsig-keygen -a hmac-sha256 stpp-e2e >"$N/tsig.key"
  chmod 600 "$N/tsig.key"
  {
    echo "\$TTL 5"
    echo "@ IN SOA ns1.$ZONE. hostmaster.$ZONE. 1 60 60 600 1"
    echo "@ 5 IN NS ns1.$ZONE."
    echo "@ 5 IN NS ns2.$ZONE."
    echo "@ 5 IN NS ns3.$ZONE."
    local i=1
    for a in "${NS_ADDRS[@]}"; do echo "ns$i 5 IN A $a"; i=$((i + 1)); done
    echo "webservices 1 IN A 127.0.20.1"
    for c in "${CASES[@]}"; do
      IFS=: read -r name addr _ _ <<<"$c"
      echo "$name 2 IN A $addr"
    done
    echo "blackhole 2 IN A $BLACKHOLE_ADDR"
  } >"$N/$ZONE.zone"
  cat >"$N/named.conf" <<EOF
include "$N/tsig.key";
options {
  directory "$N";
  pid-file "$N/named.pid";
  session-keyfile "$N/session.key";
  managed-keys-directory "$N";
  listen-on port 53 { $(printf '%s; ' "${NS_ADDRS[@]}")};
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  allow-query { 127.0.0.0/8; };
  notify no;
  querylog yes;
  minimal-responses no;
};
controls { };
logging {
  channel queries_file { file "$N/query.log"; print-time yes; };
  channel general_file { file "$N/named.log"; print-time yes; severity info; };
  category queries { queries_file; };
  category default { general_file; };
};
zone "$ZONE" {
  type primary;
  file "$N/$ZONE.zone";
  allow-update { key "stpp-e2e"; };
};
EOF
  named-checkconf "$N/named.conf"
  named-checkzone -q "$ZONE" "$N/$ZONE.zone"
  named -c "$N/named.conf" -f -u root -n 1 >"$N/named.out" 2>&1 &
  echo $! >"$DIR/named.pid"
  for _ in $(seq 1 50); do
    if dig +short +time=1 +tries=1 @"${NS_ADDRS[0]}" "ns1.$ZONE" A 2>/dev/null | grep -q .; then return 0; fi
    sleep 0.2
  done
  cat "$N/named.out" "$N/named.log" >&2 || true
  die "named did not answer"
}

# -----------------------------------------------------------------------------
# nginx
# -----------------------------------------------------------------------------
start_nginx() {
  local X="$DIR/nginx"
  mkdir -p "$X/logs" "$X/tmp"
  {
    cat <<EOF
worker_processes 1;
pid $X/nginx.pid;
error_log $X/logs/error.log info;
events { worker_connections 512; }
http {
  client_body_temp_path $X/tmp/body;
  proxy_temp_path $X/tmp/proxy;
  fastcgi_temp_path $X/tmp/fastcgi;
  uwsgi_temp_path $X/tmp/uwsgi;
  scgi_temp_path $X/tmp/scgi;
  default_type application/json;
  keepalive_timeout 75s;
  log_format e2e '\$server_addr \$server_port "\$ssl_server_name" "\$request" \$status \$request_length \$bytes_sent \$ssl_protocol \$ssl_session_reused';
  # P3: sessions resumable by id (TLS 1.2) and by ticket (both; nginx's default), for 5 minutes
  ssl_session_cache shared:e2e_sessions:1m;
  ssl_session_timeout 5m;
  ssl_session_tickets on;
  upstream simulator { server 127.0.0.2:$SIM_PORT; server 127.0.0.3:$SIM_PORT; keepalive 8; }
EOF
    for c in "${CASES[@]}"; do
      IFS=: read -r name addr cert protocols <<<"$c"
      local ciphers="HIGH:!aNULL"
      [ "$name" = tls10 ] && ciphers="DEFAULT@SECLEVEL=0"
      local action="proxy_pass https://simulator; proxy_ssl_server_name on; proxy_ssl_name webservices.securetrading.test; proxy_ssl_verify off; proxy_http_version 1.1; proxy_set_header Connection \"\"; proxy_set_header Host webservices.securetrading.test;"
      # 444: nginx closes the connection without a response, after reading the request (R3)
      [ "$name" = reset ] && action="return 444;"
      # stall: nginx never sees a byte (nft drops them); it gives up on the connection after 10 s
      local timeouts=""
      [ "$name" = stall ] && timeouts="client_header_timeout 10s;"
      cat <<EOF
  server {
    listen $addr:$TLS_PORT ssl;
    server_name _;
    ssl_certificate $DIR/pki/$cert.chain.pem;
    ssl_certificate_key $DIR/pki/$cert.key;
    ssl_protocols $protocols;
    ssl_ciphers $ciphers;
    access_log $X/logs/$name.access.log e2e;
    $timeouts
    location = /json/ { $action }
    location / { return 404 '{"error":"not found"}'; }
  }
EOF
    done
    echo "}"
  } >"$X/nginx.conf"
  nginx -t -q -p "$X" -e "$X/logs/error.log" -c "$X/nginx.conf"
  nginx -p "$X" -e "$X/logs/error.log" -c "$X/nginx.conf"
  for _ in $(seq 1 50); do [ -s "$X/nginx.pid" ] && break; sleep 0.1; done
  cp "$X/nginx.pid" "$DIR/nginx.pid"
}

start_simulator() {
  STPP_SIMULATOR_PORT="$SIM_PORT" node "$ROOT/packages/simulator/dist/bin.js" >"$DIR/simulator.env" 2>"$DIR/simulator.err" &
  echo $! >"$DIR/simulator.pid"
  for _ in $(seq 1 100); do grep -q STPP_PASSWORD "$DIR/simulator.env" 2>/dev/null && return 0; sleep 0.1; done
  cat "$DIR/simulator.err" >&2
  die "the simulator did not start"
}

start_nft() {
  nft -f - <<EOF
table inet $NFT_TABLE {
  counter swallowed { }
  counter blackholed { }
  counter stalled { }
  # Dropped on input, not output: a local packet dropped on output fails the sender's sendmsg at
  # once (EPERM), which is a network error, not a server that swallows queries.
  chain input {
    type filter hook input priority 0; policy accept;
    ip daddr $SWALLOW_ADDR meta l4proto { udp, tcp } th dport 53 counter name swallowed drop
    ip daddr $BLACKHOLE_ADDR tcp dport $TLS_PORT tcp flags & (syn | ack) == syn counter name blackholed drop
    # A stalled handshake: the SYN and the bare ACKs pass (nginx's kernel accepts the connection),
    # every segment that carries data (the ClientHello and its retransmissions) is dropped. A bare
    # segment is at most 80 bytes (20 IP + 60 TCP with every option); a ClientHello is hundreds.
    ip daddr $STALL_ADDR tcp dport $TLS_PORT tcp flags & (syn | rst) == 0 ip length > 80 counter name stalled drop
  }
}
EOF
}

write_env() {
  local sim_password
  sim_password=$(sed -n 's/^export STPP_PASSWORD=//p' "$DIR/simulator.env" | tr -d '"')
  local sim_user
  sim_user=$(sed -n 's/^export STPP_USERNAME=//p' "$DIR/simulator.env" | tr -d '"')
  {
    echo "WORLD_DIR=$DIR"
    echo "ZONE=$ZONE"
    echo "NAMESERVERS=$(IFS=,; echo "${NS_ADDRS[*]}")"
    echo "SWALLOW=$SWALLOW_ADDR"
    echo "BLACKHOLE=$BLACKHOLE_ADDR"
    echo "TLS_PORT=$TLS_PORT"
    echo "CA_FILE=$DIR/pki/root.pem"
    echo "UNTRUSTED_CA_FILE=$DIR/pki/other/root.pem"
    echo "TSIG_KEY=$DIR/named/tsig.key"
    echo "QUERY_LOG=$DIR/named/query.log"
    echo "NGINX_LOGS=$DIR/nginx/logs"
    echo "NFT_TABLE=$NFT_TABLE"
    echo "USERNAME=$sim_user"
    echo "PASSWORD=$sim_password"
    echo "CASES=$(for c in "${CASES[@]}"; do IFS=: read -r n a _ _ <<<"$c"; printf '%s=%s,' "$n" "$a"; done)"
  } >"$DIR/world.env.tmp"
  mv "$DIR/world.env.tmp" "$DIR/world.env"
}

kill_pidfile() {
  local f=$1
  [ -f "$f" ] || return 0
  local pid; pid=$(cat "$f")
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

down() {
  [ "$(id -u)" = 0 ] || die "must run as root"
  if [ -f "$DIR/nginx.pid" ]; then
    nginx -p "$DIR/nginx" -e "$DIR/nginx/logs/error.log" -c "$DIR/nginx/nginx.conf" -s stop 2>/dev/null || true
    sleep 0.2
  fi
  kill_pidfile "$DIR/nginx.pid"
  kill_pidfile "$DIR/named.pid"
  kill_pidfile "$DIR/simulator.pid"
  nft delete table inet "$NFT_TABLE" 2>/dev/null || true
  for a in "${NS_ADDRS[@]}" "$SWALLOW_ADDR"; do ip addr del "$a/32" dev lo 2>/dev/null || true; done
  if [ "${STPP_E2E_KEEP:-}" = 1 ]; then log "kept $DIR"; else rm -rf "$DIR"; fi
  log "down"
}

up() {
  need
  trap 'rc=$?; trap - ERR; log "up failed ($rc): tearing down"; down; exit $rc' ERR
  [ -e "$DIR" ] && { log "$DIR exists: taking the old world down first"; down; }
  mkdir -p "$DIR"
  chmod 755 "$DIR"
  for a in "${NS_ADDRS[@]}" "$SWALLOW_ADDR"; do ip addr add "$a/32" dev lo 2>/dev/null || true; done
  start_nft
  make_pki
  start_simulator
  start_named
  start_nginx
  write_env
  log "up in $DIR (env: $DIR/world.env)"
}

status() {
  [ -f "$DIR/world.env" ] || { echo "down"; return 1; }
  cat "$DIR/world.env"
  for p in named nginx simulator; do
    if [ -f "$DIR/$p.pid" ] && kill -0 "$(cat "$DIR/$p.pid")" 2>/dev/null; then echo "$p: running"; else echo "$p: stopped"; fi
  done
  nft list table inet "$NFT_TABLE"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
