# Issue 5: after a known sequence of requests the Prometheus counters,
# summed over the workers, equal what was sent, and the exposition
# passes a strict parser.
. "$(dirname "$0")/lib.sh"
TOKEN=abcdefghij-0123456789012345678901
D=$(dirname "$0")/../doubles

make_ca "$T/ca" rsa
PORT=$(free_port)
BPORT=$(free_port)
MPORT=$(free_port)
python3 "$D/bridge.py" --port "$BPORT" --log "$T/bridge.log" >/dev/null 2>&1 &
BRIDGE=$!
trap 'kill $BRIDGE 2>/dev/null; cleanup' EXIT
wait_port "$BPORT"
write_config "$T/c.yaml" "$PORT" "$BPORT" \
    "metrics: { listen: 127.0.0.1:$MPORT }" \
    "tunnel: { ports: [443, $BPORT], allowed_private_cidrs: [127.0.0.1/32] }"
start_daemon "$T/c.yaml" || { nok "daemon starts"; exit 0; }

mitm() { curl -sS -m 10 -o /dev/null -w '%{http_code}\n' \
	-x "http://coder:$TOKEN@127.0.0.1:$PORT" --cacert "$T/ca/ca.crt" "$@"; }
scrape() {
	curl -sS -m 5 "http://127.0.0.1:$MPORT/metrics" > "$T/m.txt" &&
	    python3 "$D/promcheck.py" "$T/m.txt" > "$T/m.json"
}
val() { python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1])).get(sys.argv[2], -1)))' "$T/m.json" "$1"; }

scrape
check "a fresh daemon's exposition parses strictly" test $? = 0
check "every provider has its series at zero" \
    test "$(val 'aibproxyd_mitm_requests_total{provider="openai"}')" = 0

# The known sequence: 3 anthropic, 2 openai (each a new CONNECT),
# 2 tunnels, one good reload and one refused.
for i in 1 2 3; do mitm https://api.anthropic.com/v1/messages -d '{}'; done > "$T/codes"
for i in 1 2; do mitm https://api.openai.com/v1/chat/completions -d '{}'; done >> "$T/codes"
for i in 1 2; do
	curl -sS -m 10 -o /dev/null -p -x "http://127.0.0.1:$PORT" \
	    "http://127.0.0.1:$BPORT/origin"
done
check "the requests themselves succeeded" test "$(sort -u "$T/codes")" = 200
kill -HUP "$DAEMON_PID"; sleep 0.5
echo 'bogus: [' >> "$T/c.yaml"; kill -HUP "$DAEMON_PID"; sleep 0.5

scrape
check "the exposition parses strictly after traffic" test $? = 0
check "mitm sessions = 5" test "$(val 'aibproxyd_connect_sessions_total{type="mitm"}')" = 5
check "tunneled sessions = 2" test "$(val 'aibproxyd_connect_sessions_total{type="tunneled"}')" = 2
check "anthropic requests = 3" test "$(val 'aibproxyd_mitm_requests_total{provider="anthropic"}')" = 3
check "openai requests = 2" test "$(val 'aibproxyd_mitm_requests_total{provider="openai"}')" = 2
check "anthropic 200 responses = 3" \
    test "$(val 'aibproxyd_mitm_responses_total{code="200",provider="anthropic"}')" = 3
check "openai 200 responses = 2" \
    test "$(val 'aibproxyd_mitm_responses_total{code="200",provider="openai"}')" = 2
check "nothing in flight" \
    test "$(val 'aibproxyd_inflight_mitm_requests{provider="anthropic"}')" = 0
check "the duration histogram counted each request" \
    test "$(val 'aibproxyd_mitm_request_duration_seconds_count{provider="anthropic"}')" = 3
check "reloads = 1" test "$(val aibproxyd_reloads_total)" = 1
check "reload failures = 1" test "$(val aibproxyd_reload_failures_total)" = 1
now=$(date +%s)
last=$(val aibproxyd_last_reload_success_timestamp_seconds)
check "the last good reload is recent" test $((now - last)) -lt 30
issued=$(val aibproxyd_certificates_issued_total)
check "certificates issued: one per host per worker (2..4)" test "$issued" -ge 2 -a "$issued" -le 4
check "no certificate refused" test "$(val aibproxyd_certificates_refused_total)" = 0
check "bytes from clients are counted" test "$(val aibproxyd_client_received_bytes_total)" -gt 0
check "the scrape is no open connection" test "$(val aibproxyd_open_connections)" = 0

out=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MPORT/other")
check "the metrics listener serves only /metrics (404)" test "$out" = 404
out=$(curl -sS -m 5 -o /dev/null -w '%{http_code}' -p -x "http://127.0.0.1:$MPORT" \
    "http://127.0.0.1:$BPORT/origin" 2>/dev/null)
check "the metrics listener is no proxy" test "$out" != 200
