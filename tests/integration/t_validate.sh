# Issue 9: tokens validated with the bridge (auth.validate): one check
# per new token, its answer cached for ttl (refusals for negative_ttl),
# shared by concurrent CONNECTs, fail closed when the bridge is down,
# failures throttled per client address, the user in the audit lines,
# and the counters equal to what was sent.
. "$(dirname "$0")/lib.sh"
proxy_setup
D=$(doubles)
GOOD=goodid1234-S3cretS3cretS3cretS3c12
BAD=badid56789-S3cretS3cretS3cretS3c12
REVOKE=revid00000-S3cretS3cretS3cretS3c12
NEW=newid11111-S3cretS3cretS3cretS3c12
NEW2=newid22222-S3cretS3cretS3cretS3c12
BAD2=badid22222-S3cretS3cretS3cretS3c12
MPORT=$(free_port)
OPORT=$(free_port)
USERS=$T/users.json
printf '{"%s": "alice", "%s": "revoked", "%s": "bob", "%s": "carol"}\n' \
    "$GOOD" "$BAD" "$REVOKE" "$NEW" > "$USERS"

start_bridge "$BPORT" "$BLOG" --users "$USERS" --slow 0.3 ||
    { nok "bridge starts"; exit 0; }
BRIDGE_PID=$LAST_PID
start_origin "$OPORT" http "$T/origin.log" || nok "origin starts"
proxy_config "$T/v.yaml" "$PORT" "http://127.0.0.1:$BPORT" \
    "auth: { tunnels: token, validate: { ttl: 4s, negative_ttl: 2s }, failures: { limit: 20, window: 60s } }" \
    "tunnel: { ports: [443, $OPORT], allowed_private_cidrs: [127.0.0.0/8] }" \
    "metrics: { listen: 127.0.0.1:$MPORT }"
start_daemon "$T/v.yaml" || { nok "daemon starts"; exit 0; }

checks() { grep -c '/api/v2/users/me' "$BLOG"; }
# Clients connect from $SRC (another loopback address is another client).
SRC=127.0.0.1
WORKER=
# mitm TOKEN: one CONNECT to a provider and one request; its status.
mitm() {
	curl -sS -m 10 -o /dev/null -w '%{http_code}' --interface "$SRC" \
	    --proxy-user "coder:$1" -x "http://$P" --cacert "$CA" \
	    https://api.anthropic.com/v1/models 2>/dev/null
}
# connect TOKEN: the status of a provider CONNECT alone.
connect() {
	curl -sS -m 10 -o /dev/null -w '%{http_connect}' --interface "$SRC" \
	    --proxy-user "coder:$1" -x "http://$P" --cacert "$CA" \
	    https://api.anthropic.com/v1/models 2>/dev/null
}
# tunnel TOKEN: a CONNECT tunnel to the origin; the CONNECT's status.
# tunnel TOKEN: with WORKER set, through that worker (worker_port).
tunnel() {
	curl -sS -m 10 -o /dev/null -w '%{http_connect}' -p \
	    ${WORKER:+--local-port "$(worker_port "$WORKER" "$SRC")"} \
	    --interface "$SRC" --proxy-user "coder:$1" -x "http://$P" \
	    "http://127.0.0.1:$OPORT/t" 2>/dev/null
}
scrape() {
	curl -sS -m 5 "http://127.0.0.1:$MPORT/metrics" > "$T/m.txt" &&
	    python3 "$D/promcheck.py" "$T/m.txt" > "$T/m.json"
}
val() { python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1])).get(sys.argv[2], -1)))' "$T/m.json" "$1"; }

# --- A valid token: 20 CONNECTs, one check.
codes=$(for i in $(seq 1 20); do mitm "$GOOD"; echo; done | sort -u)
check_eq "20 intercepted requests with a valid token succeed" "$codes" 200
check_eq "... after exactly one check at the bridge" "$(checks)" 1
check "the check sent the token as Coder-Session-Token" \
    grep -q "\"Coder-Session-Token\", \"$GOOD\"" "$BLOG"
check "the audit lines name the user" \
    grep -Eq "provider anthropic GET /v1/models status 200 .* token goodid1234 user alice$" "$LOG"
code=$(tunnel "$GOOD")
check_eq "a tunnel with the valid token opens" "$code" 200
check "the tunnel's audit line names the token and the user" \
    wait_log "tunnel 127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.1:$OPORT: .*, token goodid1234 user alice$"

# --- A refused token: 407 on both kinds, remembered for negative_ttl.
n0=$(checks)
code=$(connect "$BAD")
check_eq "a token the bridge refuses: 407 on a provider CONNECT" "$code" 407
code=$(tunnel "$BAD")
check_eq "... and on a tunnel" "$code" 407
check_eq "... with one check between them (the refusal is cached)" \
    "$(checks)" $((n0 + 1))
check "the 407 says the credentials were refused" \
    pc raw --proxy "$P" --expect-status 407 \
    --expect-body 'proxy credentials refused\n' \
    --send "CONNECT api.anthropic.com:443 HTTP/1.1\r\nHost: api.anthropic.com:443\r\nProxy-Authorization: Basic $(printf 'coder:%s' "$BAD" | base64 -w0)\r\n\r\n"
sleep 2.2
tunnel "$BAD" >/dev/null
check_eq "after negative_ttl the bridge is asked again" "$(checks)" $((n0 + 2))

# --- Revoked at the bridge: refused once ttl has passed.
check_eq "a token still valid at the bridge opens" "$(mitm "$REVOKE")" 200
sed -i "s/\"bob\"/\"revoked\"/" "$USERS"
check_eq "revoked, but within ttl: the cache still admits it" \
    "$(mitm "$REVOKE")" 200
sleep 4.2
check_eq "revoked, after ttl: 407" "$(connect "$REVOKE")" 407

# --- 100 concurrent CONNECTs with one new token: one check.
n0=$(checks)
pids=
for i in $(seq 1 100); do mitm "$NEW" > "$T/c.$i" & pids="$pids $!"; done
wait $pids
codes=$(for f in "$T"/c.*; do cat "$f"; echo; done | sort -u)
check_eq "100 concurrent CONNECTs with a new token all succeed" "$codes" 200
check_eq "... after exactly one check" "$(checks)" $((n0 + 1))

# --- The bridge down: cached tokens still connect, new ones get 503.
check_eq "alice's token is fresh in the cache" "$(mitm "$GOOD")" 200
bg_stop "$BRIDGE_PID"
sleep 0.2
code=$(tunnel "$GOOD")
check_eq "bridge down: a cached valid token still opens a tunnel" "$code" 200
ONE=oneid22222-S3cretS3cretS3cretS3c12
check "bridge down: an uncached token gets 503 with Retry-After" \
    pc raw --proxy "$P" --expect-status 503 --expect-header 'Retry-After: 10' \
    --send "CONNECT api.anthropic.com:443 HTTP/1.1\r\nHost: api.anthropic.com:443\r\nProxy-Authorization: Basic $(printf 'coder:%s' "$ONE" | base64 -w0)\r\n\r\n"
start_bridge "$BPORT" "$BLOG" --users "$USERS" || nok "bridge restarts"

# --- The counters equal what was sent: a known sequence from a fresh
# address with fresh tokens, as the difference between two scrapes.
SRC=127.0.0.3
scrape
check "the exposition parses strictly" test -s "$T/m.json"
cp "$T/m.json" "$T/m0.json"
m() { val "aibproxyd_auth_total{result=\"$1\",source=\"$2\"}"; }
dm() { echo $(( $(m "$1" "$2") - $(T2=1 m0 "$1" "$2") )); }
m0() { python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1])).get(sys.argv[2], -1)))' "$T/m0.json" "aibproxyd_auth_total{result=\"$1\",source=\"$2\"}"; }
lat0=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["aibproxyd_auth_validation_seconds_count"]))' "$T/m0.json")
printf '{"%s": "dave"}\n' "$NEW2" > "$USERS"
for i in 1 2 3; do mitm "$NEW2" > /dev/null; done
for i in 1 2; do tunnel "$BAD2" > /dev/null; done
curl -sS -m 5 -o /dev/null -p -x "http://$P" --interface "$SRC" \
    "http://127.0.0.1:$OPORT/t" 2>/dev/null
pc raw --proxy "$P" --expect-status 407 \
    --send 'CONNECT api.anthropic.com:443 HTTP/1.1\r\nHost: api.anthropic.com:443\r\nProxy-Authorization: Bearer x\r\n\r\n' >/dev/null
scrape
check_eq "valid from the bridge: 1" "$(dm valid bridge)" 1
check_eq "valid from the cache: 2" "$(dm valid cache)" 2
check_eq "invalid from the bridge: 1" "$(dm invalid bridge)" 1
check_eq "invalid from the cache: 1 refused again, 1 malformed" \
    "$(dm invalid cache)" 2
check_eq "missing: 1" "$(dm missing cache)" 1
check_eq "throttled: 0" "$(dm throttled cache)" 0
check_eq "unavailable: 0" "$(dm unavailable bridge)" 0
lat=$(val aibproxyd_auth_validation_seconds_count)
check_eq "the validation latency histogram counted the 2 checks" \
    $((lat - lat0)) 2
# The same sequence's 407s, by reason.
d407() {
	local k="aibproxyd_proxy_authentication_required_total{reason=\"$1\"}"
	echo $(( $(val "$k") - $(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1])).get(sys.argv[2], -1)))' "$T/m0.json" "$k") ))
}
check_eq "407 refused by the bridge: 2" "$(d407 refused)" 2
check_eq "407 missing: 1" "$(d407 missing)" 1
check_eq "407 malformed: 1" "$(d407 malformed)" 1
check "the earlier 503 was counted" test "$(m unavailable bridge)" -ge 1

# --- Throttle: failures.limit holds for the whole daemon, whichever of
# its 2 workers the kernel hands each connection to.  The test chooses
# the worker (WORKER, tunnel): 10 failures go to each worker,
# and counted per worker neither count would be near 20.
stop_daemon
WORKERS=2 proxy_config "$T/t.yaml" "$PORT" "http://127.0.0.1:$BPORT" \
    "auth: { tunnels: token, validate: {}, failures: { limit: 20, window: 60s } }" \
    "tunnel: { ports: [443, $OPORT], allowed_private_cidrs: [127.0.0.0/8] }" \
    "metrics: { listen: 127.0.0.1:$MPORT }"
start_daemon "$T/t.yaml" || { nok "daemon starts"; exit 0; }
printf '{"%s": "alice"}\n' "$GOOD" > "$USERS"
P0=$(child_pids "proxy 0")
P1=$(child_pids "proxy 1")
check "two workers" test -n "$P0" -a -n "$P1"
# attempts FIRST LAST: tunnels with new tokens; their statuses, counted.
attempts() {
	local i
	for i in $(seq "$1" "$2"); do
		tunnel "$(printf 'thr%07d-S3cretS3cretS3cretS3c12' "$i")"
		echo
	done | sort | uniq -c | awk '{ print $2 "x" $1 }' | tr '\n' ' '
}
SRC=127.0.0.4
n0=$(checks)
WORKER=$P0
check_eq "10 failures from one address at worker 0: 407" \
    "$(attempts 1 10)" "407x10 "
WORKER=$P1
check_eq "10 more at worker 1: 407" "$(attempts 11 20)" "407x10 "
check_eq "... each checked at the bridge" "$(checks)" $((n0 + 20))
check_eq "the 21st attempt from the address gets 429 (at worker 1)" \
    "$(attempts 21 21)" "429x1 "
WORKER=$P0
check_eq "... and so does the 22nd (at worker 0)" "$(attempts 22 22)" \
    "429x1 "
WORKER=
check_eq "... with no check at the bridge" "$(checks)" $((n0 + 20))
# Each log line names the worker that wrote it.
byworker() {
	grep -E "proxy [0-9]+: conn [0-9]+ 127\.0\.0\.4:[0-9]+: $1" "$LOG" |
	    sed -E 's/.*(proxy [0-9]+):.*/\1/' | sort | uniq -c |
	    awk '{ print $2 $3 "x" $1 }' | tr '\n' ' '
}
check_eq "the bridge's refusals were split between the workers" \
    "$(byworker 'token thr[0-9]+ refused by the bridge')" \
    "proxy0x10 proxy1x10 "
check_eq "each worker answered one 429" \
    "$(byworker 'too many failed credentials')" "proxy0x1 proxy1x1 "
SRC=127.0.0.2
check_eq "another address is unaffected" "$(tunnel "$GOOD")" 200
SRC=127.0.0.4
check_eq "the throttled address stays refused" "$(tunnel "$GOOD")" 429
scrape
check_eq "the workers' 429s are summed in the metrics" \
    "$(val 'aibproxyd_auth_total{result="throttled",source="cache"}')" 3

# --- max_entries: the least recently used token is forgotten first.
stop_daemon
proxy_config "$T/m.yaml" "$PORT" "http://127.0.0.1:$BPORT" \
    "auth: { validate: { max_entries: 2 } }"
start_daemon "$T/m.yaml" || { nok "daemon starts"; exit 0; }
SRC=127.0.0.5
printf '{"%s": "a", "%s": "b", "%s": "c"}\n' "$GOOD" "$NEW" "$NEW2" > "$USERS"
n0=$(checks)
mitm "$GOOD" >/dev/null; mitm "$NEW" >/dev/null; mitm "$GOOD" >/dev/null
check_eq "two tokens, one used again: two checks" "$(checks)" $((n0 + 2))
mitm "$NEW2" >/dev/null
check_eq "a third token is checked" "$(checks)" $((n0 + 3))
mitm "$GOOD" >/dev/null
check_eq "the most recently used token was kept" "$(checks)" $((n0 + 3))
mitm "$NEW" >/dev/null
check_eq "the least recently used one was forgotten and is checked again" \
    "$(checks)" $((n0 + 4))
