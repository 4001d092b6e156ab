# Seed 001 end to end: a cross-signed MITM CA made with the seed's own
# openssl commands, Squid as the TLS-bumping upstream, the bridge hop
# and a tunnel through it, Squid with basic auth (good and bad
# credentials), and the chain aibproxyd serves (SPEC 4.4, 5).
. "$(dirname "$0")/lib.sh"
DOUBLES=$(cd "$(dirname "$0")/../doubles" && pwd)
SQUID_PID=
stop_squid() {
	[ -n "$SQUID_PID" ] || return 0
	bg_stop "$SQUID_PID"
	SQUID_PID=
}
trap 'stop_daemon; stop_squid; bg_stop_all; cleanup' EXIT

if ! command -v squid >/dev/null 2>&1; then
	echo "# SKIP squid not installed"
	ok "squid upstream tests skipped: squid not installed"
	exit 0
fi
CERTGEN=/usr/lib/squid/security_file_certgen
NCSA=/usr/lib/squid/basic_ncsa_auth
if [ ! -x "$CERTGEN" ] || [ ! -x "$NCSA" ]; then
	nok "squid is installed with TLS bumping and basic auth" \
	    "(missing $CERTGEN or $NCSA: install squid-openssl)"
	exit 0
fi

TOKEN=abcdefghij-0123456789abcdefghijkl
PORT=$(free_port)
BPORT=$(free_port)
SPORT=$(free_port)	# Squid, open to localhost
APORT=$(free_port)	# Squid, basic auth required
P="$T/pki"
mkdir -p "$P"

# The upstream root and the cross-signed MITM CA, as seed 001 says.
(
	cd "$P" || exit 1
	openssl genrsa -out upstream-ca.key 2048
	openssl req -x509 -new -days 365 -key upstream-ca.key \
	    -out upstream-ca.crt -subj "/CN=Upstream Root CA"
	openssl genrsa -out mitm.key 2048
	chmod 400 mitm.key
	openssl req -new -key mitm.key -out mitm.csr -subj "/CN=AI Proxy CA"
	cat > ca_extensions.cnf <<'EOF'
basicConstraints=CA:TRUE
keyUsage=keyCertSign,cRLSign
EOF
	openssl x509 -req -in mitm.csr -CA upstream-ca.crt \
	    -CAkey upstream-ca.key -CAcreateserial -out mitm-cross-signed.crt \
	    -days 365 -extfile ca_extensions.cnf
	cat mitm-cross-signed.crt upstream-ca.crt > mitm-chain.crt
) >"$T/pki.log" 2>&1
out=$(cd "$P" && openssl x509 -in mitm-cross-signed.crt -noout -subject -issuer)
check "seed 001: the MITM CA is cross-signed by the upstream root" \
    test "$out" = "subject=CN = AI Proxy CA
issuer=CN = Upstream Root CA"
out=$(cd "$P" && openssl verify -CAfile upstream-ca.crt mitm-cross-signed.crt 2>&1)
check "seed 001: openssl verify says the cross-signed CA is OK" \
    test "$out" = "mitm-cross-signed.crt: OK"

# The bridge's certificate comes from a "public" CA that only Squid
# (and, for the no-bump checks, nobody else) trusts.
make_root "$T/pub" "Public Test Root"
make_leaf "$T/pub" "$T/bridge" localhost
bg_start "$T/bridge.out" python3 "$DOUBLES/bridge.py" --port "$BPORT" \
    --tls "$T/bridge.crt" "$T/bridge.key" --log "$T/bridge.log" \
    --release "$T/release"
wait_ready "$T/bridge.out" || { nok "test bridge starts"; exit 0; }

# Squid: one port open to localhost, one that wants basic auth; both
# bump with the upstream root (Squid reads its key as user proxy).
S="$T/squid"
mkdir -p "$S"
chmod 0777 "$S"
chmod 0644 "$P/upstream-ca.key"
printf 'corp:%s\n' "$(openssl passwd -apr1 'p@ss')" > "$S/passwd"
chmod 0644 "$S/passwd"
# The bridge listens on 127.0.0.1 alone.  With localhost on ::1 first,
# Squid 5.7 answers a bumped request 503 without trying 127.0.0.1, so
# it gets a hosts file of its own whatever shape the system's has.
printf '127.0.0.1 localhost\n' > "$S/hosts"
chmod 0644 "$S/hosts"
"$CERTGEN" -c -s "$S/ssl_db" -M 4MB >/dev/null 2>&1
chown -R proxy:proxy "$S/ssl_db"
touch "$S/access.log" "$S/cache.log"
chown proxy "$S/access.log" "$S/cache.log"
bump="ssl-bump generate-host-certificates=on dynamic_cert_mem_cache_size=4MB tls-cert=$P/upstream-ca.crt tls-key=$P/upstream-ca.key"
cat > "$S/squid.conf" <<EOF
http_port 127.0.0.1:$SPORT $bump name=open
http_port 127.0.0.1:$APORT $bump name=authed
sslcrtd_program $CERTGEN -s $S/ssl_db -M 4MB
sslcrtd_children 2 startup=1 idle=1
auth_param basic program $NCSA $S/passwd
auth_param basic children 2 startup=1 idle=1
auth_param basic realm corp
acl step1 at_step SslBump1
ssl_bump peek step1
ssl_bump bump all
tls_outgoing_options cafile=$T/pub/ca.crt
acl authport myportname authed
acl users proxy_auth REQUIRED
http_access allow localhost !authport
http_access allow localhost authport users
http_access deny all
access_log stdio:$S/access.log
cache_log $S/cache.log
pid_filename $S/squid.pid
cache deny all
cache_mem 8 MB
coredump_dir $S
cache_effective_user proxy
shutdown_lifetime 1 seconds
pinger_enable off
hosts_file $S/hosts
EOF
bg_start "$S/squid.out" squid -f "$S/squid.conf" -N
SQUID_PID=$LAST_PID
if ! wait_port "$SPORT" 200 || ! wait_port "$APORT" 20; then
	nok "squid starts (installed but not listening)"
	sed 's/^/#   /' "$S/squid.out" "$S/cache.log" | tail -20
	exit 0
fi
ok "squid starts"

# squid_config FILE URL [UPSTREAM_CA]: aibproxyd as seed 001 sets it up.
# localhost is allowed at both loopbacks: Debian's /etc/hosts names ::1
# too, and through an upstream a name with a refused address is refused.
squid_config() {
	cat > "$1" <<EOF
workers: 1
listen:
  - address: 127.0.0.1:$PORT
ca:
  cert: $P/mitm-chain.crt
  key: $P/mitm.key
bridge:
  url: https://localhost:$BPORT
  ca: $T/pub/ca.crt
providers:
  - { name: anthropic, host: api.anthropic.com }
tunnel:
  ports: [443, $BPORT]
  allowed_private_cidrs: [127.0.0.1/32, '::1/128']
upstream:
  url: "$2"
  ca: ${3:-$P/upstream-ca.crt}
  bridge: true
EOF
}

# A client that trusts only the upstream root.
client() {
	curl -sS -m 10 -x "http://coder:$TOKEN@127.0.0.1:$PORT" \
	    --cacert "$P/upstream-ca.crt" "$@"
}
intercept() {
	client -o "$T/body" -w '%{http_code}' -H 'Content-Type: application/json' \
	    -d '{"model":"claude"}' https://api.anthropic.com/v1/messages \
	    2>"$T/curl.err"
}
tunnel() {
	client -o "$T/body" -w '%{http_connect} %{http_code}' \
	    "https://localhost:$BPORT/origin" 2>"$T/curl.err"
}
body_path() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["path"])' \
	    "$T/body" 2>/dev/null
}
# squid_log PATTERN: wait (2 s) for an access log line matching PATTERN.
squid_log() {
	local i
	for i in $(seq 1 40); do
		grep -Eq "$1" "$S/access.log" && return 0
		sleep 0.05
	done
	return 1
}

# Phases 1-3 through the open port.
squid_config "$T/open.yaml" "http://127.0.0.1:$SPORT"
start_daemon "$T/open.yaml" || { nok "daemon starts with the chain"; exit 0; }
ok "daemon starts with mitm-chain.crt and mitm.key"
code=$(intercept)
check_log "intercepted request through Squid answers 200 (got $code)" test "$code" = 200
check "... answered by the bridge on the aibridge route" \
    test "$(body_path)" = /api/v2/aibridge/anthropic/v1/messages
check "... with the token as the bearer credential" python3 -c '
import json, sys
for l in open(sys.argv[1]):
    e = json.loads(l)
    if e["path"] == "/api/v2/aibridge/anthropic/v1/messages":
        h = {k.lower(): v for k, v in e["headers"]}
        sys.exit(h.get("authorization") != "Bearer " + sys.argv[2])
sys.exit(1)' "$T/bridge.log" "$TOKEN"
code=$(tunnel)
check_log "tunnel through Squid answers 200 200 (got $code)" test "$code" = "200 200"
check "... answered by the origin" test "$(body_path)" = /origin
# Streaming (seed 001 phase 3): the first SSE event reaches the client
# through Squid while the bridge holds the second one back.
client -N -o "$T/sse" https://api.anthropic.com/v1/sse 2>/dev/null &
sse=$!
for i in $(seq 1 60); do
	grep -q 'data: first' "$T/sse" 2>/dev/null && break
	sleep 0.05
done
check_log "SSE through Squid: the first event arrives before the second is sent" \
    sh -c "grep -q 'data: first' '$T/sse' && ! grep -q 'data: second' '$T/sse'"
touch "$T/release"
wait "$sse"
check "... and the second one after it" grep -q 'data: second' "$T/sse"

# Seed 001 test 2: the chain the client is served.
openssl s_client -proxy "127.0.0.1:$PORT" -proxy_user coder \
    -proxy_pass "pass:$TOKEN" -connect api.anthropic.com:443 \
    -servername api.anthropic.com -showcerts -CAfile "$P/upstream-ca.crt" \
    </dev/null >"$T/sclient.out" 2>&1
awk -v d="$T" '/BEGIN CERTIFICATE/ { n++; f = d "/served" n ".pem" }
    f { print > f } /END CERTIFICATE/ { f = "" }' "$T/sclient.out"
n=$(grep -c 'BEGIN CERTIFICATE' "$T/sclient.out")
check "served chain has three certificates (got $n)" test "$n" = 3
subj() { openssl x509 -in "$1" -noout -subject -issuer 2>/dev/null | tr '\n' ';'; }
check "1st is the leaf, issued by the MITM CA" test "$(subj "$T/served1.pem")" = \
    "subject=CN = api.anthropic.com;issuer=CN = AI Proxy CA;"
check "2nd is the cross-signed intermediate" test "$(subj "$T/served2.pem")" = \
    "subject=CN = AI Proxy CA;issuer=CN = Upstream Root CA;"
check "3rd is the upstream root" test "$(subj "$T/served3.pem")" = \
    "subject=CN = Upstream Root CA;issuer=CN = Upstream Root CA;"
out=$(openssl verify -CAfile "$P/upstream-ca.crt" -untrusted "$T/served2.pem" \
    -purpose sslserver -verify_hostname api.anthropic.com "$T/served1.pem" 2>&1)
check "openssl verify of the served leaf against the upstream root is OK" \
    test "$out" = "$T/served1.pem: OK"
check "s_client trusting only the upstream root verifies" \
    grep -q 'Verify return code: 0 (ok)' "$T/sclient.out"
hdr=$(curl -sS -m 5 -D - -o "$T/served-ca.pem" "http://127.0.0.1:$PORT/ca-cert.pem" |
    tr -d '\r' | grep -i '^content-type:')
check "/ca-cert.pem is application/x-pem-file" \
    test "$hdr" = "Content-Type: application/x-pem-file"
check "/ca-cert.pem holds one certificate" \
    test "$(grep -c 'BEGIN CERTIFICATE' "$T/served-ca.pem")" = 1
fp() { openssl x509 -in "$1" -noout -fingerprint -sha256 2>/dev/null; }
check "/ca-cert.pem is the upstream root (what a client must trust)" \
    test -n "$(fp "$T/served-ca.pem")" -a "$(fp "$T/served-ca.pem")" = \
    "$(fp "$P/upstream-ca.crt")"
check "/ca-cert.pem holds no key" sh -c "! grep -q 'PRIVATE KEY' '$T/served-ca.pem'"

# Closing the pooled bridge connection ends Squid's CONNECT record.
stop_daemon
check "Squid logged the bridge hop's CONNECT" \
    squid_log " CONNECT localhost:$BPORT - HIER_DIRECT"
check "Squid logged the bumped bridge request" \
    squid_log " POST https://localhost:$BPORT/api/v2/aibridge/anthropic/v1/messages "
check "Squid logged the tunnel's bumped request" \
    squid_log " GET https://localhost:$BPORT/origin "
check "Squid logged both CONNECTs" \
    test "$(grep -c " CONNECT localhost:$BPORT - " "$S/access.log")" -ge 2
check "the provider host never reached Squid (SPEC 4.1)" \
    sh -c "! grep -q anthropic.com '$S/access.log'"

# The bridge hop verifies the bumped certificate with upstream.ca:
# with another CA there, it must fail (never skip verification).
squid_config "$T/wrongca.yaml" "http://127.0.0.1:$SPORT" "$T/pub/ca.crt"
start_daemon "$T/wrongca.yaml" || nok "daemon starts (wrong upstream.ca)"
code=$(intercept)
check_log "bumped bridge certificate not signed by upstream.ca: 502 (got $code)" \
    test "$code" = 502
check "... and the log says the TLS handshake failed" \
    grep -q "bridge localhost:$BPORT: TLS handshake" "$LOG"
stop_daemon

# Basic auth at Squid, with a reserved character percent-encoded.
squid_config "$T/auth.yaml" "http://corp:p%40ss@127.0.0.1:$APORT"
start_daemon "$T/auth.yaml" || nok "daemon starts (auth upstream)"
code=$(intercept)
check_log "intercepted request through Squid with basic auth: 200 (got $code)" \
    test "$code" = 200
code=$(tunnel)
check_log "tunnel through Squid with basic auth: 200 200 (got $code)" \
    test "$code" = "200 200"
stop_daemon
check "Squid logged user corp on the bridge hop's CONNECT" \
    squid_log " CONNECT localhost:$BPORT corp HIER_DIRECT"
check "Squid logged user corp on both CONNECTs" \
    test "$(grep -c " CONNECT localhost:$BPORT corp HIER_DIRECT" "$S/access.log")" -ge 2
check "the client's proxy credentials never reached Squid (user coder)" \
    sh -c "! grep -q ' coder ' '$S/access.log'"

squid_config "$T/badauth.yaml" "http://corp:wrong@127.0.0.1:$APORT"
start_daemon "$T/badauth.yaml" || nok "daemon starts (bad credentials)"
code=$(tunnel)
check_log "tunnel with wrong upstream credentials: CONNECT gets 502 (got $code)" \
    test "${code%% *}" = 502
check "... the log names the upstream's 407" grep -Eq \
    "tunnel localhost:$BPORT: through the upstream 127.0.0.1:$APORT: the upstream answered 407" "$LOG"
code=$(intercept)
check_log "intercepted request with wrong upstream credentials: 502 inside TLS (got $code)" \
    test "$code" = 502
check "... the log names the upstream's 407 on the bridge hop" grep -Eq \
    "bridge localhost:$BPORT: through the upstream 127.0.0.1:$APORT: the upstream answered 407" "$LOG"
stop_daemon
stop_squid
[ -n "${VERBOSE:-}" ] && sed 's/^/#   /' "$S/access.log"
exit 0
