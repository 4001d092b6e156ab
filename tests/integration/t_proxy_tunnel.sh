# Issue 3, tunnels and forwarding (SPEC 4.3, 4.1 dispatch): the egress
# policy (ports, private addresses, allowed ranges), connect failures,
# half-close, plain HTTP forwarding, auth.tunnels: token, and a TLS
# listener carrying both an interception and a tunnel.
. "$(dirname "$0")/lib.sh"
trap proxy_cleanup EXIT

make_ca "$T/ca" rsa
CA=$T/ca/ca.crt
PORT=$(free_port)
BPORT=$(free_port)
OHTTP=$(free_port)	# HTTP origin
OEOF=$(free_port)	# reads to EOF, then answers
CLOSED=$(free_port)	# allowed, but nothing listens
OFF=$(free_port)	# not in tunnel.ports
P=127.0.0.1:$PORT
BLOG=$T/bridge.log
OLOG=$T/origin.log
TOKEN=abcdef1234-S3cretS3cretS3cretS3c12
PORTS="tunnel:
  ports: [80, 443, $OHTTP, $OEOF, $CLOSED]"

start_bridge "$BPORT" "$BLOG" || { nok "bridge starts"; exit 0; }
start_origin "$OHTTP" http "$OLOG" || { nok "origin starts"; exit 0; }
start_origin "$OEOF" eof || { nok "origin starts"; exit 0; }

b64() {
	printf '%s' "$1" | base64 -w0
}
# A raw CONNECT (no credentials) and its answer.
connect_answer() {
	local desc="$1" target="$2" status="$3" body="$4"
	check "$desc" pc raw --proxy "$P" \
	    --send "CONNECT $target HTTP/1.1\r\nHost: $target\r\n\r\n" \
	    --expect-status "$status" --expect-body "$body" --expect-closed
}
ocount() {
	blog "$OLOG" count
}

# --- Private destinations allowed by allowed_private_cidrs.
proxy_config "$T/allow.yaml" "$PORT" "http://127.0.0.1:$BPORT" "$PORTS
  allowed_private_cidrs: [127.0.0.1/32]"
start_daemon "$T/allow.yaml" || { nok "daemon starts"; exit 0; }

out=$(curl -sS --max-time 10 -p -x "http://$P" \
    "http://127.0.0.1:$OHTTP/tunnelled")
check_eq "tunnel to an allowed private address works" "$out" \
    "origin /tunnelled"
out=$(curl -sS --max-time 10 -p -x "http://$P" \
    "http://localhost:$OHTTP/by-name")
check_eq "tunnel to an allowed private address by name works" "$out" \
    "origin /by-name"
check "tunnel answer is 200 Connection established, nothing else" \
    pc tunnel --proxy "$P" --connect "127.0.0.1:$OEOF" --half-close \
    --expect-data 'got 0 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n'
check "half-close: data, then EOF, and the origin's answer comes back" \
    pc tunnel --proxy "$P" --connect "127.0.0.1:$OEOF" --half-close \
    --send 'half-close test line\n' --repeat 50000 \
    --expect-data 'got {len} {sha256}\n'
check "data sent with the CONNECT head goes through the tunnel" \
    pc tunnel --proxy "$P" --connect "127.0.0.1:$OEOF" --half-close \
    --early --send 'early bytes\n' --repeat 1000 \
    --expect-data 'got {len} {sha256}\n'
connect_answer "127.0.0.2 is outside 127.0.0.1/32: 403 Forbidden" \
    "127.0.0.2:$OHTTP" 403 Forbidden
connect_answer "unresolvable name gets 502 Bad Gateway" \
    "nosuchhost.invalid:443" 502 "Bad Gateway"
connect_answer "connection refused gets 502 Bad Gateway" \
    "127.0.0.1:$CLOSED" 502 "Bad Gateway"
connect_answer "a port not in tunnel.ports gets 403" \
    "127.0.0.1:$OFF" 403 Forbidden
check "a tunnel's name goes to the resolver" \
    grep -qE 'proxy 0 asks for localhost' "$LOG"
check_eq "tunnels never ask signerd for a certificate" \
    "$(log_count 'asked signer')" 0
check_eq "the bridge heard nothing of the tunnels" "$(blog "$BLOG" count)" 0
check "a tunnel is logged with its outcome" \
    grep -qE "tunnel 127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.1:$OHTTP: closed" "$LOG"

# Plain HTTP forwarding: origin-form at the origin, no proxy headers.
out=$(curl -sS --max-time 10 -x "http://coder:$TOKEN@$P" \
    -H 'Proxy-Connection: keep-alive' "http://127.0.0.1:$OHTTP/x?q=1")
check_eq "forwarded request answered by the origin" "$out" "origin /x?q=1"
check_eq "the origin got the origin-form target" \
    "$(blog "$OLOG" get -1 path)" "/x?q=1"
check_eq "the origin got no Proxy-Authorization" \
    "$(blog "$OLOG" header -1 Proxy-Authorization)" ""
check_eq "the origin got no Proxy-Connection" \
    "$(blog "$OLOG" header -1 Proxy-Connection)" ""
check_eq "the origin got its own Host" \
    "$(blog "$OLOG" header -1 Host)" "127.0.0.1:$OHTTP"
n0=$(blog "$BLOG" count)
code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' \
    -x "http://coder:$TOKEN@$P" http://api.anthropic.com/v1/messages)
check_eq "absolute-form http:// to a provider host gets 403" "$code" 403
check_eq "... and the bridge heard nothing" "$(blog "$BLOG" count)" "$n0"

# --- The same destinations without allowed_private_cidrs.
stop_daemon
proxy_config "$T/deny.yaml" "$PORT" "http://127.0.0.1:$BPORT" "$PORTS"
start_daemon "$T/deny.yaml" || { nok "daemon starts (no CIDR)"; exit 0; }
n0=$(ocount)
connect_answer "127.0.0.1 refused: 403 Forbidden" "127.0.0.1:$OHTTP" \
    403 Forbidden
connect_answer "localhost refused: 403 Forbidden" "localhost:$OHTTP" \
    403 Forbidden
connect_answer "::1 refused: 403 Forbidden" "[::1]:$OHTTP" 403 Forbidden
connect_answer "IPv4-mapped ::ffff:127.0.0.1 refused: 403 Forbidden" \
    "[::ffff:127.0.0.1]:$OHTTP" 403 Forbidden
connect_answer "link-local metadata address refused: 403 Forbidden" \
    "169.254.169.254:80" 403 Forbidden
code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -x "http://$P" \
    "http://127.0.0.1:$OHTTP/blocked")
check_eq "forwarding to a private address gets 403" "$code" 403
check_eq "the origin heard none of them" "$(ocount)" "$n0"
check "the refusal is logged with the range" \
    grep -qE "blocking 127\.0\.0\.1:$OHTTP \(127\.0\.0\.1\): destination is in" "$LOG"

# --- auth.tunnels: token.
stop_daemon
proxy_config "$T/auth.yaml" "$PORT" "http://127.0.0.1:$BPORT" "$PORTS
  allowed_private_cidrs: [127.0.0.1/32]" "auth: { tunnels: token }"
start_daemon "$T/auth.yaml" || { nok "daemon starts (tunnels: token)"; exit 0; }
check "tunnels: token: a tunnel without credentials gets 407" \
    pc raw --proxy "$P" --expect-status 407 --expect-closed \
    --expect-header 'Proxy-Authenticate: Basic realm="aibproxyd"' \
    --send "CONNECT 127.0.0.1:$OHTTP HTTP/1.1\r\nHost: 127.0.0.1:$OHTTP\r\n\r\n"
check "tunnels: token: an empty token gets 407" \
    pc raw --proxy "$P" --expect-status 407 --expect-closed \
    --send "CONNECT 127.0.0.1:$OHTTP HTTP/1.1\r\nHost: 127.0.0.1:$OHTTP\r\nProxy-Authorization: Basic $(b64 coder:)\r\n\r\n"
out=$(curl -sS --max-time 10 -p -x "http://coder:$TOKEN@$P" \
    "http://127.0.0.1:$OHTTP/with-token")
check_eq "tunnels: token: a tunnel with credentials works" "$out" \
    "origin /with-token"
code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -x "http://$P" \
    "http://127.0.0.1:$OHTTP/no-token")
check_eq "tunnels: token: forwarding without credentials gets 407" "$code" 407

# --- A TLS listener: the token travels encrypted to the proxy.
stop_daemon
make_listener_cert "$T/listen"
TPORT=$(free_port)
proxy_config "$T/tls.yaml" "$PORT" "http://127.0.0.1:$BPORT" "$PORTS
  allowed_private_cidrs: [127.0.0.1/32]"
# A second listener, after the first in the list.
sed -i "/^  - address: 127.0.0.1:$PORT\$/a\\
  - address: 127.0.0.1:$TPORT\\
    tls: { cert: $T/listen/listen.crt, key: $T/listen/listen.key }" \
    "$T/tls.yaml"
start_daemon "$T/tls.yaml" || { nok "daemon starts (TLS listener)"; exit 0; }
out=$(curl -sS --max-time 10 --proxy "https://coder:$TOKEN@127.0.0.1:$TPORT" \
    --proxy-cacert "$T/listen/listen.crt" --cacert "$CA" -d '{}' \
    https://api.anthropic.com/v1/messages)
want='{"ok": true, "path": "/api/v2/aibridge/anthropic/v1/messages"}'
check_eq "TLS listener: an intercepted request reaches the bridge" "$out" \
    "$want"
[ "$out" = "$want" ] || grep -E ': (conn|request) [0-9a-f]' "$LOG" |
    tail -3 | sed 's/^/#   log: /'
out=$(curl -sS --max-time 10 --proxy "https://127.0.0.1:$TPORT" \
    --proxy-cacert "$T/listen/listen.crt" -p \
    "http://127.0.0.1:$OHTTP/over-tls")
check_eq "TLS listener: a tunnel works" "$out" "origin /over-tls"
out=$(curl -sS --max-time 10 --cacert "$T/listen/listen.crt" \
    "https://127.0.0.1:$TPORT/healthz")
check_eq "TLS listener: /healthz" "$out" "OK"
out=$(curl -sS --max-time 10 -p -x "http://$P" \
    "http://127.0.0.1:$OHTTP/plain-still")
check_eq "the plain listener next to it still works" "$out" \
    "origin /plain-still"
check "plain HTTP on the TLS listener is not served" \
    sh -c "! curl -s --max-time 5 http://127.0.0.1:$TPORT/healthz | grep -q OK"
