# An https:// upstream proxy with its own CA (tests/doubles/upstream.py):
# tunnels, forwarded requests and the bridge hop (TLS inside TLS)
# through it, exactly our credentials and never the client's, each
# trust store kept to its own hop; then the CA key kinds of seeds 000
# and 001 and ECDSA (SPEC 4.4, 5).
. "$(dirname "$0")/lib.sh"
DOUBLES=$(cd "$(dirname "$0")/../doubles" && pwd)
trap 'stop_daemon; bg_stop_all; cleanup' EXIT

TOKEN=abcdefghij-0123456789abcdefghijkl
PORT=$(free_port)
BPORT=$(free_port)	# the bridge, TLS; also the tunnels' origin
OPORT=$(free_port)	# a plain HTTP origin for forwarded requests
UPORT=$(free_port)	# the upstream: TLS, its own CA, wants our credential
VPORT=$(free_port)	# an upstream whose certificate the public CA signed
EPORT=$(free_port)	# an origin that answers once the request side ends
CPORT=$(free_port)	# an upstream that coalesces what it relays
# A password with reserved characters, percent-encoded in the URL.
UP_USER=corp
UP_PASS='p@ss:w/rd%'
UP_USERINFO='corp:p%40ss%3Aw%2Frd%25'
UP_AUTH="Basic $(b64 "$UP_USER:$UP_PASS")"
CLIENT_CRED=$(b64 "coder:$TOKEN")

make_ca "$T/ca" rsa
make_root "$T/pub" "Public Test Root"
make_root "$T/corp" "Corp Proxy CA"
make_root "$T/other" "Unrelated CA"
make_leaf "$T/pub" "$T/bridge" localhost
make_leaf "$T/corp" "$T/upstream" localhost
make_leaf "$T/pub" "$T/upstream-pub" localhost

printf '{"%s": "alice"}\n' "$TOKEN" > "$T/users.json"
bg_start "$T/bridge.out" python3 "$DOUBLES/bridge.py" --port "$BPORT" \
    --tls "$T/bridge.crt" "$T/bridge.key" --log "$T/bridge.log" \
    --release "$T/release" --users "$T/users.json"
b1=$LAST_PID
bg_start "$T/origin.out" python3 "$DOUBLES/bridge.py" --port "$OPORT" \
    --log "$T/origin.log"
# Record by record, so that the TLS-inside-TLS checks below test what
# they name; the coalescing upstream (CPORT) tests the opposite.
bg_start "$T/up.out" python3 "$DOUBLES/upstream.py" --port "$UPORT" \
    --tls "$T/upstream.crt" "$T/upstream.key" --auth "$UP_AUTH" \
    --split-records --log "$T/up.log"
bg_start "$T/vp.out" python3 "$DOUBLES/upstream.py" --port "$VPORT" \
    --tls "$T/upstream-pub.crt" "$T/upstream-pub.key" --log "$T/vp.log"
bg_start "$T/co.out" python3 "$DOUBLES/upstream.py" --port "$CPORT" \
    --tls "$T/upstream.crt" "$T/upstream.key" --coalesce 200 \
    --log "$T/co.log"
# Reads until the client's end of stream, then says how much it got.
bg_start "$T/eof.out" python3 -c '
import socket, sys, threading
def serve(c):
    n = 0
    while True:
        d = c.recv(65536)
        if not d:
            break
        n += len(d)
    c.sendall(b"got %d\n" % n)
    c.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(8)
print("ready", flush=True)
while True:
    threading.Thread(target=serve, args=(s.accept()[0],), daemon=True).start()
' "$EPORT"
for f in bridge origin up vp eof co; do
	wait_ready "$T/$f.out" || { nok "test double $f starts"; exit 0; }
done

# https_config FILE UPSTREAM_URL UPSTREAM_CA UPSTREAM_BRIDGE BRIDGE_CA
# The bridge and the tunnels are reached by the name localhost, which
# the upstream resolves again; so through an upstream the daemon refuses
# a name with any refused address, and Debian's /etc/hosts gives
# localhost ::1 too: both loopbacks are allowed.
https_config() {
	cat > "$1" <<EOF
workers: 1
listen:
  - address: 127.0.0.1:$PORT
ca:
  cert: $T/ca/ca.crt
  key: $T/ca/ca.key
bridge:
  url: https://localhost:$BPORT
  ca: $5
providers:
  - { name: anthropic, host: api.anthropic.com }
auth:
  tunnels: token
tunnel:
  ports: [443, $BPORT, $OPORT, $EPORT]
  allowed_private_cidrs: [127.0.0.1/32, '::1/128']
upstream:
  url: "$2"
  ca: $3
  bridge: $4
EOF
}

client() {
	curl -sS -m "${CURL_MAX:-10}" -x "http://coder:$TOKEN@127.0.0.1:$PORT" "$@" \
	    2>"$T/curl.err"
}
# intercept [PATH [curl args]]: status of an intercepted request.
intercept() {
	local path="${1:-/v1/messages}"
	shift 2>/dev/null
	client -o "$T/body" -w '%{http_code}' --cacert "$T/ca/ca.crt" \
	    "$@" "https://api.anthropic.com$path"
}
tunnel() {
	client -o "$T/body" -w '%{http_connect} %{http_code}' \
	    --cacert "$T/pub/ca.crt" "https://localhost:$BPORT/origin"
}
body_path() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["path"])' \
	    "$T/body" 2>/dev/null
}
# up_entry LOG N: entry N (1-based) as "line|answer|auth1|auth2...".
up_entry() {
	python3 -c '
import json, sys
e = [json.loads(l) for l in open(sys.argv[1])][int(sys.argv[2]) - 1]
print("|".join([e["line"], str(e["answer"])] + e["proxy_authorization"]))' \
	    "$1" "$2" 2>/dev/null
}
nlines() { grep -c . "$1"; }

# 1. Tunnels and forwarded requests through an https:// upstream.
URL="https://$UP_USERINFO@localhost:$UPORT"
https_config "$T/a.yaml" "$URL" "$T/corp/ca.crt" false "$T/pub/ca.crt"
out=$("$AIBPROXYD" -n -f "$T/a.yaml" 2>&1)
check "-n accepts a percent-encoded upstream password" test "$out" = "configuration OK"
start_daemon "$T/a.yaml" || { nok "daemon starts with an https upstream"; exit 0; }
ok "daemon starts with an https upstream"

code=$(curl -sS -m 10 -x "http://127.0.0.1:$PORT" -o /dev/null \
    -w '%{http_connect}' --cacert "$T/pub/ca.crt" \
    "https://localhost:$BPORT/origin" 2>/dev/null)
check_log "auth.tunnels token: a tunnel without credentials gets 407 (got $code)" \
    test "$code" = 407
check "... and the upstream saw nothing" test "$(nlines "$T/up.log")" = 0

code=$(tunnel)
check_log "tunnel through the https upstream: 200 200 (got $code)" \
    test "$code" = "200 200"
check "... answered by the origin" test "$(body_path)" = /origin
check "the upstream got CONNECT localhost:$BPORT with exactly our credential" \
    test "$(up_entry "$T/up.log" 1)" = \
    "CONNECT localhost:$BPORT HTTP/1.1|200|$UP_AUTH"

code=$(client -o "$T/body" -w '%{http_code}' "http://127.0.0.1:$OPORT/fwd?x=1")
check_log "forwarded http:// request through the https upstream: 200 (got $code)" \
    test "$code" = 200
check "... answered by the origin" test "$(body_path)" = "/fwd?x=1"
check "the upstream got the absolute-form request with exactly our credential" \
    test "$(up_entry "$T/up.log" 2)" = \
    "GET http://127.0.0.1:$OPORT/fwd?x=1 HTTP/1.1|200|$UP_AUTH"

# Half-close both ways through the daemon and the upstream's TLS.
out=$(python3 -c '
import base64, socket, sys
port, eport, token = sys.argv[1:4]
s = socket.create_connection(("127.0.0.1", int(port)), timeout=5)
cred = base64.b64encode(b"coder:" + token.encode()).decode()
s.sendall(("CONNECT 127.0.0.1:%s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n"
    "Proxy-Authorization: Basic %s\r\n\r\n" % (eport, eport, cred)).encode())
head = b""
while b"\r\n\r\n" not in head:
    d = s.recv(1)
    if not d:
        break
    head += d
if not head.startswith(b"HTTP/1.1 200"):
    print("CONNECT answered %r" % head[:40]); sys.exit()
s.sendall(b"x" * 100000)
s.shutdown(socket.SHUT_WR)
got = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    got += d
print(got.decode(errors="replace").strip())
' "$PORT" "$EPORT" "$TOKEN" 2>&1)
check_log "half-close travels through the https upstream and back (got: $out)" \
    test "$out" = "got 100000"
# want_sha N: the SHA-256 of the bridge's N-byte download pattern.
want_sha() {
	python3 -c 'import hashlib,sys
p = bytes(range(256)) * 256
n = int(sys.argv[1]); h = hashlib.sha256()
while n: k = min(n, len(p)); h.update(p[:k]); n -= k
print(h.hexdigest())' "$1"
}
# upload_ok: the bridge's /upload answer matches $T/up.bin.
upload_ok() {
	python3 -c 'import hashlib,json,sys
b = json.load(open(sys.argv[1]))
d = open(sys.argv[2], "rb").read()
sys.exit(not (b["len"] == len(d) and b["sha256"] == hashlib.sha256(d).hexdigest()))' \
	    "$T/body" "$T/up.bin" 2>/dev/null
}
head -c 2000000 /dev/urandom > "$T/up.bin"
code=$(client -o "$T/body" -w '%{http_code}' --cacert "$T/pub/ca.crt" \
    "https://localhost:$BPORT/x/download?n=3000000")
sum=$(sha256sum < "$T/body" | cut -d' ' -f1)
check_log "3 MB download through a tunnel via the https upstream arrives whole (got $code)" \
    test "$code" = 200 -a "$sum" = "$(want_sha 3000000)"
code=$(client -o "$T/body" -w '%{http_code}' --cacert "$T/pub/ca.crt" \
    --data-binary "@$T/up.bin" "https://localhost:$BPORT/x/upload")
check_log "2 MB upload through a tunnel via the https upstream arrives whole (got $code)" \
    upload_ok

n=$(nlines "$T/up.log")
code=$(intercept)
check_log "upstream.bridge false: intercepted request goes to the bridge: 200 (got $code)" \
    test "$code" = 200
check "... directly, not through the upstream" test "$(nlines "$T/up.log")" = "$n"
stop_daemon

# 2. The bridge hop through the upstream: TLS inside TLS.
https_config "$T/b.yaml" "$URL" "$T/corp/ca.crt" true "$T/pub/ca.crt"
start_daemon "$T/b.yaml" || nok "daemon starts (upstream.bridge true)"
n=$(nlines "$T/up.log")
code=$(intercept)
check_log "upstream.bridge true: intercepted request through the https upstream: 200 (got $code)" \
    test "$code" = 200
check "... answered by the bridge on the aibridge route" \
    test "$(body_path)" = /api/v2/aibridge/anthropic/v1/messages
check "the upstream got CONNECT to the bridge with exactly our credential" \
    test "$(up_entry "$T/up.log" $((n + 1)))" = \
    "CONNECT localhost:$BPORT HTTP/1.1|200|$UP_AUTH"
check "the provider host never reached the upstream (SPEC 4.1)" \
    sh -c "! grep -q anthropic.com '$T/up.log'"
n=$(nlines "$T/up.log")
code=$(client -o /dev/null -o /dev/null -w '%{http_code} ' \
    --cacert "$T/ca/ca.crt" https://api.anthropic.com/v1/a \
    https://api.anthropic.com/v1/b)
check_log "two requests on one client connection: 200 200 (got $code)" \
    test "$code" = "200 200 "
check "... share a pooled bridge connection through the upstream, at most one new CONNECT (SPEC 4.2)" \
    test "$(nlines "$T/up.log")" -le "$((n + 1))"
code=$(intercept "/download?n=3000000")
sum=$(sha256sum < "$T/body" | cut -d' ' -f1)
check_log "3 MB download through TLS inside TLS arrives whole (got $code)" \
    test "$code" = 200 -a "$sum" = "$(want_sha 3000000)"
code=$(intercept /upload --data-binary "@$T/up.bin")
check_log "2 MB upload through TLS inside TLS arrives whole (got $code)" upload_ok
# SSE: the first event reaches the client while the bridge holds the
# second one back.
rm -f "$T/release"
client -N -o "$T/sse" --cacert "$T/ca/ca.crt" https://api.anthropic.com/v1/sse &
sse=$!
for i in $(seq 1 60); do
	grep -q 'data: first' "$T/sse" 2>/dev/null && break
	sleep 0.05
done
check_log "SSE through TLS inside TLS: the first event arrives before the second is sent" \
    sh -c "grep -q 'data: first' '$T/sse' && ! grep -q 'data: second' '$T/sse'"
touch "$T/release"
wait "$sse"
check "... and the second one after it" grep -q 'data: second' "$T/sse"
stop_daemon

# auth.validate asks the bridge on the same pool: over its verified TLS,
# inside the upstream's, with our credentials to the upstream only.
sed 's/^  tunnels: token$/  tunnels: token\n  validate: {}/' "$T/b.yaml" > "$T/bv.yaml"
start_daemon "$T/bv.yaml" || nok "daemon starts (auth.validate)"
n=$(nlines "$T/up.log")
code=$(intercept /v1/validated)
check_log "auth.validate through the https upstream: the token is checked, then served: 200 (got $code)" \
    test "$code" = 200
check "... the bridge got the check with the token as Coder-Session-Token" \
    grep -q "\"/api/v2/users/me\".*\"Coder-Session-Token\", \"$TOKEN\"" "$T/bridge.log"
check "... the check went through the upstream (CONNECT to the bridge)" \
    test "$(up_entry "$T/up.log" $((n + 1)))" = \
    "CONNECT localhost:$BPORT HTTP/1.1|200|$UP_AUTH"
check "... and the audit line names the user" \
    grep -q "GET /v1/validated status 200 .* user alice" "$LOG"
stop_daemon

# The upstream may pass on several records of the bridge's TLS in one
# record of its own: here the bridge's TLS 1.3 session tickets and its
# response arrive together.  The worker must read on while the outer
# session still holds bytes, not wait for the socket.
https_config "$T/b2.yaml" "https://localhost:$CPORT" "$T/corp/ca.crt" true \
    "$T/pub/ca.crt"
start_daemon "$T/b2.yaml" || nok "daemon starts (coalescing upstream)"
# Five fresh bridge connections (a reload empties the pool): the
# stall depends on timing, five tries make it near certain to show.
codes=
for i in 1 2 3 4 5; do
	codes="$codes$(CURL_MAX=2 intercept /v1/coalesced) "
	r=$(grep -c 'parent: reloaded' "$LOG")
	kill -HUP "$DAEMON_PID"
	for j in $(seq 1 40); do
		[ "$(grep -c 'parent: reloaded' "$LOG")" -gt "$r" ] && break
		sleep 0.05
	done
done
check_log "TLS inside TLS when the upstream coalesces the bridge's records: 200 x5 (got $codes)" \
    test "$codes" = "200 200 200 200 200 "
check "... the bridge got the request and answered it" \
    grep -q '"path": "/api/v2/aibridge/anthropic/v1/coalesced"' "$T/bridge.log"
check "... and the upstream relayed it (CONNECT answered 200)" \
    test "$(up_entry "$T/co.log" 1)" = "CONNECT localhost:$BPORT HTTP/1.1|200"
code=$(client -o "$T/body" -w '%{http_code}' --cacert "$T/pub/ca.crt" \
    "https://localhost:$BPORT/x/download?n=3000000")
sum=$(sha256sum < "$T/body" | cut -d' ' -f1)
check_log "3 MB download through a tunnel via the coalescing upstream arrives whole (got $code)" \
    test "$code" = 200 -a "$sum" = "$(want_sha 3000000)"
stop_daemon

# 3. Wrong credentials at the upstream: 502, and the log says 407.
https_config "$T/c.yaml" "https://corp:wrong@localhost:$UPORT" \
    "$T/corp/ca.crt" true "$T/pub/ca.crt"
start_daemon "$T/c.yaml" || nok "daemon starts (wrong credentials)"
n=$(nlines "$T/up.log")
code=$(tunnel)
check_log "tunnel with wrong upstream credentials: CONNECT gets 502 (got $code)" \
    test "${code%% *}" = 502
check "... the log names the upstream's 407" grep -q \
    "tunnel localhost:$BPORT: through the upstream localhost:$UPORT: the upstream answered 407" "$LOG"
code=$(intercept)
check_log "intercepted request with wrong upstream credentials: 502 inside TLS (got $code)" \
    test "$code" = 502
check "... the log names the upstream's 407 on the bridge hop" grep -q \
    "bridge localhost:$BPORT: through the upstream localhost:$UPORT: the upstream answered 407" "$LOG"
check "the upstream answered 407 to both" \
    test "$(tail -n +$((n + 1)) "$T/up.log" | grep -c '"answer": 407')" = 2
stop_daemon

# 4. The upstream's certificate is verified with upstream.ca.
https_config "$T/d.yaml" "$URL" "$T/other/ca.crt" true "$T/pub/ca.crt"
start_daemon "$T/d.yaml" || nok "daemon starts (wrong upstream.ca)"
n=$(nlines "$T/up.log")
code=$(tunnel)
check_log "upstream certificate not signed by upstream.ca: tunnel gets 502 (got $code)" \
    test "${code%% *}" = 502
code=$(intercept)
check_log "... and the bridge hop through it gets 502 (got $code)" test "$code" = 502
check "... and the upstream never got a request" test "$(nlines "$T/up.log")" = "$n"
check "... the log says TLS with the upstream failed" \
    grep -q "upstream localhost:$UPORT.*TLS" "$LOG"
stop_daemon

# 5. No bleed between the trust stores.  bridge.ca does not vouch for
# the upstream: this upstream's certificate is from the public CA.
https_config "$T/e.yaml" "https://localhost:$VPORT" "$T/other/ca.crt" \
    false "$T/pub/ca.crt"
start_daemon "$T/e.yaml" || nok "daemon starts (bleed 1)"
code=$(tunnel)
check_log "bridge.ca is not trusted for the upstream: tunnel gets 502 (got $code)" \
    test "${code%% *}" = 502
check "... and that upstream never got a request" test "$(nlines "$T/vp.log")" = 0
stop_daemon
: > "$T/vp.log"
# upstream.ca does not vouch for a bridge reached directly.
https_config "$T/f.yaml" "$URL" "$T/pub/ca.crt" false "$T/other/ca.crt"
start_daemon "$T/f.yaml" || nok "daemon starts (bleed 2)"
n=$(nlines "$T/up.log")
code=$(intercept)
check_log "upstream.ca is not trusted for a direct bridge: 502 (got $code)" \
    test "$code" = 502
check "... the log says the bridge's TLS handshake failed" \
    grep -q "bridge localhost:$BPORT: TLS handshake" "$LOG"
check "... and the upstream was not used" test "$(nlines "$T/up.log")" = "$n"
stop_daemon
https_config "$T/g.yaml" "$URL" "$T/pub/ca.crt" false "$T/pub/ca.crt"
start_daemon "$T/g.yaml" || nok "daemon starts (bleed control)"
code=$(intercept)
check_log "control: the same with bridge.ca = the bridge's CA: 200 (got $code)" \
    test "$code" = 200
stop_daemon
# A user name without a password still sends "user:" (RFC 7617).
https_config "$T/h.yaml" "https://justuser@localhost:$VPORT" \
    "$T/pub/ca.crt" false "$T/pub/ca.crt"
start_daemon "$T/h.yaml" || nok "daemon starts (user without password)"
code=$(tunnel)
check_log "tunnel through an upstream with a user and no password: 200 200 (got $code)" \
    test "$code" = "200 200"
check "... which got Basic base64(\"justuser:\")" \
    test "$(up_entry "$T/vp.log" 1)" = \
    "CONNECT localhost:$BPORT HTTP/1.1|200|Basic $(b64 justuser:)"
stop_daemon
check "no upstream ever got the client's Proxy-Authorization (SPEC 4.4)" \
    sh -c "test -s '$T/up.log' && ! grep -qF -e '$CLIENT_CRED' -e '$TOKEN' \
    '$T/up.log' '$T/vp.log' '$T/co.log'"
bg_stop "$b1"	# the CA kinds below use a plain bridge

# 6. CA keys as seeds 000 (RSA 4096) and 001 (RSA 2048) make them,
# and ECDSA P-256 and P-384.
seed_ca() {
	local d="$T/kind-$1"
	mkdir -p "$d"
	case "$1" in
	rsa2048|rsa4096)
		openssl genrsa -out "$d/ca.key" "${1#rsa}" 2>/dev/null ;;
	p256)	openssl ecparam -name prime256v1 -genkey -noout \
		    -out "$d/ca.key" 2>/dev/null ;;
	p384)	openssl ecparam -name secp384r1 -genkey -noout \
		    -out "$d/ca.key" 2>/dev/null ;;
	esac
	chmod 400 "$d/ca.key"
	openssl req -new -x509 -days 3650 -key "$d/ca.key" -out "$d/ca.crt" \
	    -subj "/CN=AI Bridge Proxy CA" 2>/dev/null
}
for kind in rsa2048 rsa4096 p256 p384; do
	seed_ca "$kind"
	d="$T/kind-$kind"
	cat > "$T/$kind.yaml" <<EOF
workers: 1
listen:
  - address: 127.0.0.1:$PORT
ca:
  cert: $d/ca.crt
  key: $d/ca.key
bridge:
  url: http://127.0.0.1:$OPORT
providers:
  - { name: anthropic, host: api.anthropic.com }
EOF
	if ! start_daemon "$T/$kind.yaml"; then
		nok "$kind CA: daemon starts"
		continue
	fi
	ok "$kind CA: daemon starts"
	code=$(client -o "$T/body" -w '%{http_code}' --cacert "$d/ca.crt" \
	    -d '{}' https://api.anthropic.com/v1/messages)
	check_log "$kind CA: intercepted request verified against it: 200 (got $code)" \
	    test "$code" = 200 -a "$(body_path)" = /api/v2/aibridge/anthropic/v1/messages
	case $kind in
	rsa*)	want=sha256WithRSAEncryption ;;
	p256)	want=ecdsa-with-SHA256 ;;
	p384)	want=ecdsa-with-SHA384 ;;
	esac
	got=$(openssl s_client -proxy "127.0.0.1:$PORT" -proxy_user coder \
	    -proxy_pass "pass:$TOKEN" -connect api.anthropic.com:443 \
	    -servername api.anthropic.com </dev/null 2>/dev/null |
	    openssl x509 -noout -text 2>/dev/null |
	    awk '/Signature Algorithm:/ { print $3; exit }')
	check "$kind CA: the leaf is signed with $want (got $got)" test "$got" = "$want"
	stop_daemon
done
exit 0
