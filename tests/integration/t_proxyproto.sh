# Issue 10: listeners behind a load balancer (listen[].proxy_protocol).
# A PROXY v1 or v2 header names the client, and the daemon uses that
# address where it used the balancer's: audit lines of interceptions
# and tunnels, the auth failure throttle.  A v2 LOCAL header (HAProxy's
# check-send-proxy) keeps the balancer's address; a connection without
# a header, with a bad one, or from a peer outside proxy_from is closed
# without an answer and logged; a TLS listener reads the header before
# its handshake.  Every connection here comes from 127.0.0.x: the
# addresses in the headers are documentation ranges no socket has.
. "$(dirname "$0")/lib.sh"
proxy_setup
D=$(doubles)
GOOD=goodid1234-S3cretS3cretS3cretS3c12
P2PORT=$(free_port)
TPORT=$(free_port)
MPORT=$(free_port)
OPORT=$(free_port)
P2=127.0.0.1:$P2PORT
TP=127.0.0.1:$TPORT
USERS=$T/users.json
printf '{"%s": "alice"}\n' "$GOOD" > "$USERS"
make_listener_cert "$T/listen"

start_bridge "$BPORT" "$BLOG" --users "$USERS" ||
    { nok "bridge starts"; exit 0; }
start_origin "$OPORT" http "$T/origin.log" || nok "origin starts"
proxy_config "$T/pp.yaml" "$PORT" "http://127.0.0.1:$BPORT" \
    "auth: { tunnels: token, validate: { ttl: 60s }, failures: { limit: 3, window: 60s } }" \
    "tunnel: { ports: [443, $OPORT], allowed_private_cidrs: [127.0.0.0/8] }" \
    "metrics: { listen: 127.0.0.1:$MPORT }"
# The first listener gets the header; two more: only 127.0.0.2 may
# send one, and TLS.
sed -i "s|^  - address: 127.0.0.1:$PORT\$|&\\
    proxy_protocol: true\\
  - address: $P2\\
    proxy_protocol: true\\
    proxy_from: [127.0.0.2/32, \"2001:db8::/32\"]\\
  - address: $TP\\
    proxy_protocol: true\\
    tls: { cert: $T/listen/listen.crt, key: $T/listen/listen.key }|" \
    "$T/pp.yaml"
start_daemon "$T/pp.yaml" || { nok "daemon starts"; exit 0; }

HEALTHZ='GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'
tunnel() {
	pc tunnel --proxy "$1" --connect "127.0.0.1:$OPORT" --token "$GOOD" \
	    --send 'GET /t HTTP/1.1\r\nHost: o\r\nConnection: close\r\n\r\n' \
	    --half-close "${@:2}"
}

# --- Interception and tunnels: the header's client in the audit lines.
check_log "v1: an intercepted request through the listener" \
    pc mitm --proxy "$P" --header v1:192.0.2.10:40001 --token "$GOOD" \
    --cafile "$CA" --expect-status 200 \
    --send 'GET /v1/models HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\n'
check_log "... its audit line names the header's client" \
    grep -Eq "request [-0-9a-f]+ client 192\.0\.2\.10:40001 provider anthropic GET /v1/models status 200 .* user alice$" "$LOG"
check_log "v2: a tunnel through the listener" \
    tunnel "$P" --header v2:192.0.2.20:40002
check_log "... its audit line names the header's client" \
    grep -Eq "tunnel 192\.0\.2\.20:40002 -> 127\.0\.0\.1:$OPORT: .* user alice$" "$LOG"
check_log "v2 over IPv6: a tunnel" \
    tunnel "$P" --header "v2:[2001:db8::5]:40003"
check_log "... its audit line names the IPv6 client" \
    grep -Eq "tunnel \[2001:db8::5\]:40003 -> 127\.0\.0\.1:$OPORT: " "$LOG"

# --- HAProxy's health checks: v2 LOCAL, then the HTTP check.
check_log "v2 LOCAL (check-send-proxy), then GET /healthz: 200" \
    pc raw --proxy "$P" --header v2local --send "$HEALTHZ" \
    --expect-status 200
check_log "v1 UNKNOWN, then GET /healthz: 200" \
    pc raw --proxy "$P" --header 'raw:PROXY UNKNOWN\r\n' --send "$HEALTHZ" \
    --expect-status 200

# --- A balancer's plain TCP check: connect, close.  No error.
tcp_check() {
	python3 -c 'import socket, sys
socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5).close()' "$1"
}
check_log "a TCP check: connect, then close (not counted: see below)" \
    tcp_check "$PORT"

# --- No header, a bad one: closed without an answer, and a line.
check_log "no header: closed without an answer" \
    pc raw --proxy "$P" --send "$HEALTHZ" --expect-silent
check_log "... and a line naming the peer and the reason" \
    grep -Eq "conn [0-9]+ 127\.0\.0\.1:[0-9]+: closing: PROXY protocol header: no PROXY header$" "$LOG"
check_log "a bad v1 port: closed without an answer" \
    pc raw --proxy "$P" --header 'raw:PROXY TCP4 192.0.2.1 127.0.0.1 99999 80\r\n' \
    --send "$HEALTHZ" --expect-silent
check_log "... and a line with the reason" \
    grep -Eq "closing: PROXY protocol header: v1: bad source address or port$" "$LOG"
check_log "a v2 datagram family: closed without an answer" \
    pc raw --proxy "$P" \
    --header 'raw:\r\n\r\n\x00\r\nQUIT\n\x21\x12\x00\x0cabcdefghijkl' \
    --send "$HEALTHZ" --expect-silent
check_log "a plain proxy request on a proxy_protocol listener is refused" \
    pc raw --proxy "$P" --expect-silent \
    --send 'CONNECT 127.0.0.1:443 HTTP/1.1\r\nHost: 127.0.0.1:443\r\n\r\n'

# --- proxy_from: only the balancers it names.
check_log "from outside proxy_from: closed at accept" \
    pc raw --proxy "$P2" --header v1:192.0.2.30:40004 --send "$HEALTHZ" \
    --expect-silent
check_log "... and a line naming the listener and the peer" \
    grep -Eq "listen $P2: refusing 127\.0\.0\.1:[0-9]+: not in proxy_from" "$LOG"
check_log "from a peer in proxy_from: served" \
    tunnel "$P2" --source 127.0.0.2 --header v1:192.0.2.31:40005
check_log "... with the header's client in the audit line" \
    grep -Eq "tunnel 192\.0\.2\.31:40005 -> 127\.0\.0\.1:$OPORT: " "$LOG"

# --- A TLS listener: the header first, then the handshake.
check_log "TLS listener: v2 header, handshake, tunnel" \
    tunnel "$TP" --listener-ca "$T/listen/listen.crt" \
    --header v2:192.0.2.40:40006
check_log "... with the header's client in the audit line" \
    grep -Eq "tunnel 192\.0\.2\.40:40006 -> 127\.0\.0\.1:$OPORT: " "$LOG"
check_log "TLS listener: a ClientHello without a header is refused" \
    pc raw --proxy "$TP" --listener-ca "$T/listen/listen.crt" \
    --send "$HEALTHZ" --expect-silent

# --- The auth failure throttle counts per header client, not per
# balancer: all of these come from 127.0.0.1.
# bad_tunnel CLIENT N STATUS: a CONNECT with the Nth unknown token.
bad_tunnel() {
	local tok
	tok=$(printf 'bad%07d-S3cretS3cretS3cretS3c12' "$2")
	pc raw --proxy "$P" --header "v1:$1" --expect-status "$3" \
	    --send "CONNECT 127.0.0.1:$OPORT HTTP/1.1\r\nHost: x\r\nProxy-Authorization: Basic $(b64 "coder:$tok")\r\n\r\n"
}
for i in 1 2 3; do
	bad_tunnel 198.51.100.7:5000 "$i" 407 ||
	    nok "failure $i from 198.51.100.7 is a 407"
done
check_log "the 4th failure from one header client: 429" \
    bad_tunnel 198.51.100.7:5001 4 429
check_log "another header client through the same balancer: still 407" \
    bad_tunnel 198.51.100.8:5000 5 407

# --- The counter, by reason.
curl -sS -m 5 "http://127.0.0.1:$MPORT/metrics" > "$T/m.txt" &&
    python3 "$D/promcheck.py" "$T/m.txt" > "$T/m.json" ||
    nok "the metrics parse"
val() { python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1])).get(sys.argv[2], -1)))' "$T/m.json" "aibproxyd_proxy_protocol_errors_total{reason=\"$1\"}"; }
check_eq "refused headers: missing" "$(val missing)" 3
check_eq "refused headers: malformed" "$(val malformed)" 2
check_eq "refused headers: not_allowed" "$(val not_allowed)" 1
check_eq "refused headers: timeout" "$(val timeout)" 0
check_eq "refused headers: closed (a TCP check is none)" "$(val closed)" 0
