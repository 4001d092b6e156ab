# Issue 10: aibproxyd -n refuses what a start or a reload would fail on,
# each with its exact message and exit status, and a start and a
# reload say the same.
. "$(dirname "$0")/lib.sh"

make_ca "$T/ca" rsa
PORT=$(free_port)
BPORT=$(free_port)
write_config "$T/good.yaml" "$PORT" "$BPORT"
make_listener_cert "$T/l1"
make_listener_cert "$T/l2"
: > "$T/empty.pem"

# A CA whose name constraints permit anthropic.com alone.
mkdir -p "$T/nc"
openssl ecparam -name prime256v1 -genkey -noout -out "$T/nc/ca.key" 2>/dev/null
chmod 400 "$T/nc/ca.key"
openssl req -new -x509 -days 30 -key "$T/nc/ca.key" -out "$T/nc/ca.crt" \
    -subj "/CN=Constrained CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign" \
    -addext "nameConstraints=critical,permitted;DNS:anthropic.com" 2>/dev/null
cp "$T/ca/ca.key" "$T/ca/open.key"
chmod 0644 "$T/ca/open.key"

# variant NAME SED: good.yaml edited by a sed(1) script.
variant() { sed "$2" "$T/good.yaml" > "$T/$1.yaml"; }
tls() { echo "s|^  - address: 127.0.0.1:$PORT\$|&\\n    tls: { cert: $T/l1/listen.crt, key: $1 }|"; }
variant tlsgood "$(tls "$T/l1/listen.key")"
variant mismatch "$(tls "$T/l2/listen.key")"
variant cacert "s|cert: $T/ca/ca.crt|cert: $T/empty.pem|"
variant bridgeca "s|^  url: http://127.0.0.1:$BPORT\$|&\\n  ca: $T/empty.pem|"
variant nc "s|$T/ca/ca.crt|$T/nc/ca.crt|; s|$T/ca/ca.key|$T/nc/ca.key|"
variant openkey "s|$T/ca/ca.key|$T/ca/open.key|"
variant route "s|url: http://127.0.0.1:$BPORT|&/coder/api/v2/aibridge|"

# The table: file, exit status, the exact output of -n.
while IFS='|' read -r name rc want; do
	out=$("$AIBPROXYD" -n -f "$T/$name.yaml" 2>&1)
	check_eq "-n $name: exit $rc and its message" "$? $out" \
	    "$rc $(printf '%b' "$want" | sed "s|@T@|$T|g")"
done <<'EOF'
good|0|configuration OK
tlsgood|0|configuration OK
mismatch|1|@T@/mismatch.yaml:4: listen[0].tls.key: @T@/l2/listen.key: not the private key of the certificate in @T@/l1/listen.crt
cacert|1|@T@/cacert.yaml:5: ca.cert: @T@/empty.pem: CA certificate file holds no certificate
bridgeca|1|@T@/bridgeca.yaml:9: bridge.ca: @T@/empty.pem: no certificate in the file
nc|1|@T@/nc.yaml:5: ca.cert: @T@/nc/ca.crt: provider host api.openai.com is outside the name constraints of the CA certificate (permitted DNS: anthropic.com): clients would refuse its certificates
openkey|0|@T@/openkey.yaml:6: ca.key: @T@/ca/open.key: warning: readable or writable by group or others (mode 0644): chmod 600 it, only root needs it\nconfiguration OK
route|1|@T@/route.yaml:8: bridge.url: URL path already has /api/v2/aibridge, which aibproxyd appends itself: drop it from the URL
EOF

# A certificate's path of some 600 bytes is named whole, not cut.
L=$T/$(printf '%0200d/%0200d/%0200d' 1 2 3)
mkdir -p "$L" && cp "$T/l1/listen.crt" "$L/"
sed "s|$T/l1/listen.crt|$L/listen.crt|" "$T/mismatch.yaml" > "$T/long.yaml"
out=$("$AIBPROXYD" -n -f "$T/long.yaml" 2>&1)
check_eq "-n with a long certificate path: exit 1, the path whole" "$? $out" \
    "1 $T/long.yaml:4: listen[0].tls.key: $T/l2/listen.key: not the private key of the certificate in $L/listen.crt"

# A start says what -n says, on standard error, before it detaches.
out=$("$AIBPROXYD" -f "$T/mismatch.yaml" 2>&1); rc=$?
check_eq "start with a mismatched listener key: exit 1, and why" "$rc $out" \
    "1 $T/mismatch.yaml:4: listen[0].tls.key: $T/l2/listen.key: not the private key of the certificate in $T/l1/listen.crt"

# A reload refuses it too, says why in the log, and keeps serving.  The
# workers check the pair (the running parent reads no private key), so
# the line names the listener and the part rather than file:line.
cp "$T/good.yaml" "$T/run.yaml"
start_daemon "$T/run.yaml" || { nok "daemon starts"; exit 0; }
cp "$T/mismatch.yaml" "$T/run.yaml"
kill -HUP "$DAEMON_PID"
for i in $(seq 1 100); do
	grep -q 'reload failed' "$LOG" && break
	sleep 0.05
done
check_log "a reload with a mismatched listener key fails, and says why" \
    grep -qE "proxy [01] refused the configuration: listen 127\.0\.0\.1:[0-9]+: tls\.key: not the private key of the certificate" "$LOG"
check "the daemon still runs after it" kill -0 "$DAEMON_PID"
cp "$T/nc.yaml" "$T/run.yaml"
kill -HUP "$DAEMON_PID"
for i in $(seq 1 100); do
	[ "$(grep -c 'reload failed' "$LOG")" -ge 2 ] && break
	sleep 0.05
done
check_log "a reload with a provider outside the CA's constraints fails" \
    grep -qF "signer refused the configuration: provider host api.openai.com is outside the name constraints" "$LOG"
check "the daemon still runs after that" kill -0 "$DAEMON_PID"
