# Issue 10: the metrics the alerts are made of.  After a known mix of
# traffic (a good interception, CONNECTs refused with 407 for each
# reason, a client that does not trust the CA, a tunnel whose
# destination refuses) the session counters count only what was
# established, the scrape is no open connection, the failures are
# counted by reason, every process has its figures, a replaced worker
# is counted, and every metric that etc/prometheus/aibproxyd.rules.yml
# or etc/grafana/aibproxyd.json queries is in the scrape.
. "$(dirname "$0")/lib.sh"
TOKEN=abcdefghij-0123456789012345678901
D=$(dirname "$0")/../doubles
ETC=$(dirname "$0")/../../etc

make_ca "$T/ca" rsa
PORT=$(free_port)
BPORT=$(free_port)
MPORT=$(free_port)
CLOSED=$(free_port)	# nothing listens there
python3 "$D/bridge.py" --port "$BPORT" --log "$T/bridge.log" >/dev/null 2>&1 &
BRIDGE=$!
trap 'kill $BRIDGE 2>/dev/null; cleanup' EXIT
wait_port "$BPORT"
write_config "$T/c.yaml" "$PORT" "$BPORT" \
    "metrics: { listen: 127.0.0.1:$MPORT }" \
    "tunnel: { ports: [443, $CLOSED], allowed_private_cidrs: [127.0.0.1/32] }"
start_daemon "$T/c.yaml" || { nok "daemon starts"; exit 0; }

scrape() {
	curl -sS -m 5 "http://127.0.0.1:$MPORT/metrics" > "$T/m.txt" &&
	    python3 "$D/promcheck.py" "$T/m.txt" > "$T/m.json"
}
val() { python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1])).get(sys.argv[2], -1)))' "$T/m.json" "$1"; }
code() { curl -sS -m 10 -o /dev/null -w '%{http_code}' "$@" 2>/dev/null; }
# The proxy's answer to the CONNECT curl sends (-p).
connect() { curl -sS -m 10 -o /dev/null -w '%{http_connect}' -p "$@" 2>/dev/null; }

# One interception that works.
c=$(code -x "http://coder:$TOKEN@127.0.0.1:$PORT" --cacert "$T/ca/ca.crt" \
    https://api.anthropic.com/v1/messages -d '{}')
check "an intercepted request succeeds" test "$c" = 200
# A client that does not trust the CA: curl sends an unknown_ca alert.
c=$(code -x "http://coder:$TOKEN@127.0.0.1:$PORT" https://api.anthropic.com/v1/x)
check "a client without the CA fails its handshake" test "$c" = 000
# 407s: no credentials, and credentials that do not parse.
c=$(connect -x "http://127.0.0.1:$PORT" https://api.anthropic.com/v1/x)
check "no credentials: 407" test "$c" = 407
c=$(connect -x "http://127.0.0.1:$PORT" \
    --proxy-header 'Proxy-Authorization: Basic !!!' https://api.anthropic.com/v1/x)
check "malformed credentials: 407" test "$c" = 407
# A tunnel whose destination refuses: 502, and no session.
c=$(connect -x "http://127.0.0.1:$PORT" "http://127.0.0.1:$CLOSED/")
check "a tunnel to a closed port: 502" test "$c" = 502

scrape
check "the exposition parses strictly" test $? = 0
check "one interception established (not the failed handshake)" \
    test "$(val 'aibproxyd_connect_sessions_total{type="mitm"}')" = 1
check "no tunnel established (not the refused one)" \
    test "$(val 'aibproxyd_connect_sessions_total{type="tunneled"}')" = 0
check "the scrape is no open connection" test "$(val aibproxyd_open_connections)" = 0
check "the failed handshake is counted as untrusted" \
    test "$(val 'aibproxyd_client_tls_handshake_failures_total{reason="untrusted",stage="intercept"}')" = 1
check "407 missing = 1" \
    test "$(val 'aibproxyd_proxy_authentication_required_total{reason="missing"}')" = 1
check "407 malformed = 1" \
    test "$(val 'aibproxyd_proxy_authentication_required_total{reason="malformed"}')" = 1
check "407 refused = 0" \
    test "$(val 'aibproxyd_proxy_authentication_required_total{reason="refused"}')" = 0

# Every process has its figures.
for p in parent signer resolver "proxy 0" "proxy 1"; do
	check "$p: open descriptors, limit, memory" test \
	    "$(val "aibproxyd_process_open_fds{process=\"$p\"}")" -gt 2 -a \
	    "$(val "aibproxyd_process_max_fds{process=\"$p\"}")" -gt 64 -a \
	    "$(val "aibproxyd_process_resident_memory_bytes{process=\"$p\"}")" -gt 1048576
done
# The parent counts a descriptor of its own while it reads them.
n=$(ls "/proc/$DAEMON_PID/fd" | wc -l)
check "the parent's descriptors as /proc has them" \
    test "$(val 'aibproxyd_process_open_fds{process="parent"}')" -le "$n"
want=$(date -d "$(openssl x509 -noout -enddate -in "$T/ca/ca.crt" | cut -d= -f2)" +%s)
check "the CA's notAfter" \
    test "$(val aibproxyd_ca_not_after_timestamp_seconds)" = "$want"
check "no restart yet" \
    test "$(val 'aibproxyd_process_restarts_total{process="proxy 1"}')" = 0

# Every metric the shipped rules and dashboard query is in the scrape.
python3 "$D/promnames.py" "$ETC/prometheus/aibproxyd.rules.yml" \
    "$ETC/grafana/aibproxyd.json" > "$T/used" || nok "promnames.py reads the files"
python3 -c 'import json,sys; print("\n".join(sorted({k.split("{")[0] for k in json.load(open(sys.argv[1]))})))' \
    "$T/m.json" > "$T/scraped"
missing=$(LC_ALL=C comm -23 "$T/used" "$T/scraped")
check "the rules and the dashboard query $(wc -l < "$T/used") metrics" \
    test "$(wc -l < "$T/used")" -ge 10
check "every one of them is in the scrape${missing:+ (missing: $(echo $missing))}" \
    test -z "$missing"

# A worker dies; the parent replaces it and counts it.
old=$(child_pids "proxy 1")
kill -KILL $old
for i in $(seq 1 100); do
	new=$(child_pids "proxy 1")
	[ -n "$new" ] && [ "$new" != "$old" ] &&
	    grep -q "proxy 1 restarted" "$LOG" && break
	sleep 0.05
done
scrape
check "the replaced worker is counted" \
    test "$(val 'aibproxyd_process_restarts_total{process="proxy 1"}')" = 1
check "the other is not" \
    test "$(val 'aibproxyd_process_restarts_total{process="proxy 0"}')" = 0
