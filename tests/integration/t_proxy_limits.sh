# Issue 3, the listener's own pages (SPEC 4 dispatch) and the limits:
# /healthz, /ca-cert.pem (certificates only, even from a file that also
# holds the key), 404 and 405; timeouts.header, limits.connections and
# limits.header_bytes, outside and inside an intercepted session.
. "$(dirname "$0")/lib.sh"
proxy_setup

start_bridge "$BPORT" "$BLOG" || { nok "bridge starts"; exit 0; }
proxy_config "$T/p.yaml" "$PORT" "http://127.0.0.1:$BPORT" \
    "timeouts: { header: 1s }" \
    "limits: { connections: 3, header_bytes: 2048 }"
start_daemon "$T/p.yaml" || { nok "daemon starts"; exit 0; }

# --- Pages.
code=$(curl -sS --max-time 5 -o "$T/healthz" -w '%{http_code}' \
    "http://$P/healthz")
check_eq "/healthz answers 200" "$code" 200
check_eq "/healthz says OK" "$(od -An -c "$T/healthz" | tr -s ' ')" " O K \n"
curl -sS --max-time 5 -D "$T/pem.head" -o "$T/page.pem" "http://$P/ca-cert.pem"
check "/ca-cert.pem is byte-identical to the CA certificate" \
    cmp -s "$T/page.pem" "$CA"
check "/ca-cert.pem is application/x-pem-file" \
    grep -qi '^Content-Type: application/x-pem-file' "$T/pem.head"
check "/ca-cert.pem is an attachment named ca-cert.pem" \
    grep -qi '^Content-Disposition: attachment; filename=ca-cert.pem' \
    "$T/pem.head"
check "/ca-cert.pem parses as an X.509 certificate" \
    openssl x509 -in "$T/page.pem" -noout
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' \
    "http://$P/nosuchpage")
check_eq "an unknown page is 404" "$code" 404
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -d x \
    "http://$P/healthz")
check_eq "POST to a page is 405" "$code" 405
code=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -d x \
    "http://$P/ca-cert.pem")
check_eq "POST to /ca-cert.pem is 405" "$code" 405
check "a request line that is not HTTP gets 400" \
    pc raw --proxy "$P" --send 'HELLO\r\n\r\n' --expect-status 400 \
    --expect-closed

# --- timeouts.header (1s): a stalled head is answered 408 and closed.
check "half a request head, then silence: 408 and close within 3 s" \
    pc raw --proxy "$P" --timeout 5 --within 3 \
    --send 'GET /healthz HTTP/1.1\r\nHost: x\r\n' \
    --expect-status 408 --expect-closed
check "a connection that sends nothing is closed within 3 s" \
    pc raw --proxy "$P" --timeout 5 --within 3 --expect-closed
check "half a CONNECT head: 408 and close within 3 s" \
    pc raw --proxy "$P" --timeout 5 --within 3 \
    --send 'CONNECT api.anthropic.com:443 HTTP/1.1\r\n' \
    --expect-status 408 --expect-closed
check "inside TLS, half a request head: 408 and close within 3 s" \
    pc mitm --proxy "$P" --token "$TOKEN" --cafile "$CA" --timeout 5 \
    --within 3 --send 'POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\n' \
    --expect-status 408 --expect-closed

# --- limits.header_bytes (2048): 431 for a longer head.
big=$(head -c 3000 /dev/zero | tr '\0' a)
half=$(head -c 1500 /dev/zero | tr '\0' a)
check "a head just under limits.header_bytes is served" \
    pc raw --proxy "$P" --expect-status 200 --expect-body 'OK\n' \
    --send "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: $half\r\n\r\n"
check "a head over limits.header_bytes gets 431" \
    pc raw --proxy "$P" --expect-status 431 --expect-closed \
    --send "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: $big\r\n\r\n"
check "a CONNECT head over limits.header_bytes gets 431" \
    pc raw --proxy "$P" --expect-status 431 --expect-closed \
    --send "CONNECT api.anthropic.com:443 HTTP/1.1\r\nHost: x\r\nX-Pad: $big\r\n\r\n"
n0=$(blog "$BLOG" count)
check "inside TLS, a head over limits.header_bytes gets 431" \
    pc mitm --proxy "$P" --token "$TOKEN" --cafile "$CA" \
    --send "GET /v1/models HTTP/1.1\r\nHost: api.anthropic.com\r\nX-Pad: $big\r\n\r\n" \
    --expect-status 431 --expect-closed
check_eq "... and the bridge heard nothing" "$(blog "$BLOG" count)" "$n0"

# --- limits.connections (3, one worker): the 4th gets 503.
# The 503 comes at accept; the 4th sends nothing, so that no unread
# request turns the close into a reset.
check "with 3 connections open, the 4th gets 503 and is closed" \
    pc hold --proxy "$P" --count 3 --expect-status 503 --expect-body 'Service Unavailable' --expect-closed
sleep 0.3
out=$(curl -sS --max-time 5 "http://$P/healthz")
check_eq "once they close, a new connection is served" "$out" "OK"
check "the refusal is logged" grep -q 'connections, refusing more' "$LOG"

# --- ca.cert holding the key as well: the page still shows no key, and
# the worker never holds the key.
stop_daemon
cat "$CA" "$T/ca/ca.key" > "$T/compound.pem"
sed "s|cert: $CA|cert: $T/compound.pem|" "$T/p.yaml" > "$T/compound.yaml"
start_daemon "$T/compound.yaml" || { nok "daemon starts (compound ca.cert)"; exit 0; }
curl -sS --max-time 5 -o "$T/page2.pem" "http://$P/ca-cert.pem"
check_eq "compound ca.cert: exactly one CERTIFICATE block" \
    "$(grep -c 'BEGIN CERTIFICATE' "$T/page2.pem")" 1
check_eq "compound ca.cert: no PRIVATE KEY text" \
    "$(grep -c 'PRIVATE KEY' "$T/page2.pem")" 0
check "compound ca.cert: the page is the certificate, byte for byte" \
    cmp -s "$T/page2.pem" "$CA"
worker=$(child_pids proxy)
# Hex of a line of PEM text, as memscan.py takes it.
pemhex() {
	sed -n 10p "$1" | tr -d '\n' | od -An -tx1 | tr -d ' \n'
}
python3 "$(dirname "$0")/memscan.py" "$worker" "$(pemhex "$CA")"
check_eq "the CA certificate's PEM text is in the worker (scan works)" "$?" 0
python3 "$(dirname "$0")/memscan.py" "$worker" "$(pemhex "$T/ca/ca.key")"
check_eq "compound ca.cert: the key's PEM text is not in the worker" "$?" 1
d=$(openssl rsa -in "$T/ca/ca.key" -noout -text 2>/dev/null |
    awk '/^privateExponent/ {on=1; next} /^prime1/ {on=0} on' |
    tr -d ' \n:')
python3 "$(dirname "$0")/memscan.py" "$worker" "${d:64:64}"
check_eq "compound ca.cert: the key itself is not in the worker" "$?" 1
