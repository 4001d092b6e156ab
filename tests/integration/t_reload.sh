# Issue 5: SIGHUP takes new providers, tunnel policy and limits for new
# connections, keeps established ones on what they started with, never
# passes a removed provider through, and survives bad edits; SIGTERM
# lets in-flight work finish.
. "$(dirname "$0")/lib.sh"
TOKEN=abcdefghij-0123456789012345678901
D=$(dirname "$0")/../doubles

make_ca "$T/ca" rsa
PORT=$(free_port)
BPORT=$(free_port)
python3 "$D/bridge.py" --port "$BPORT" --log "$T/bridge.log" >/dev/null 2>&1 &
BRIDGE=$!
trap 'kill $BRIDGE 2>/dev/null; cleanup' EXIT
wait_port "$BPORT"

# Base: anthropic only; the bridge's port is a tunnel port for the tests.
conf() {
	cat > "$T/live.yaml" <<YAML
workers: 2
listen: [ { address: 127.0.0.1:$PORT } ]
ca: { cert: $T/ca/ca.crt, key: $T/ca/ca.key }
bridge: { url: "http://127.0.0.1:$BPORT" }
providers:
$1
tunnel: { ports: [443, $BPORT], allowed_private_cidrs: [127.0.0.1/32] }
timeouts: { shutdown: 10s }
YAML
}
mitm() { curl -sS -m 10 -o /dev/null -w '%{http_code}' \
	-x "http://coder:$TOKEN@127.0.0.1:$PORT" --cacert "$T/ca/ca.crt" "$@"; }

conf "  - { name: anthropic, host: api.anthropic.com }"
start_daemon "$T/live.yaml" || { nok "daemon starts"; exit 0; }

# 1. A provider added by reload is intercepted without a restart.
check "before the reload api.openai.com is not intercepted" \
    test "$(mitm https://api.openai.com/v1/models 2>/dev/null)" != 200
conf "  - { name: anthropic, host: api.anthropic.com }
  - { name: openai, host: api.openai.com }"
reload_daemon
check "after the reload api.openai.com is intercepted" \
    test "$(mitm https://api.openai.com/v1/models)" = 200
check "and routed under its name" grep -q '"/api/v2/aibridge/openai/v1/models"' "$T/bridge.log"

# 2. A provider removed while a connection to it is open: 421, never a
# pass-through.
ka_start "127.0.0.1:$PORT" api.openai.com "$T/ca/ca.crt" "$T/go"
check "the open connection's first request is served" grep -q "^1 200" "$T/ka.out"
conf "  - { name: anthropic, host: api.anthropic.com }"
reload_daemon
before=$(grep -c "aibridge/openai" "$T/bridge.log")
touch "$T/go"
wait $KA
check "its next request after the provider was removed gets 421" \
    grep -q "^2 421" "$T/ka.out"
check "and nothing reached the bridge for it" \
    test "$(grep -c "aibridge/openai" "$T/bridge.log")" = "$before"
check "the refusal is logged" grep -q "api.openai.com is no longer a provider" "$LOG"

# 3. An invalid edit keeps the running configuration.
cp "$T/live.yaml" "$T/good.yaml"
printf 'providers: [\n' >> "$T/live.yaml"
reload_daemon
check "an invalid file is refused and logged" grep -q "reload failed, keeping the running configuration" "$LOG"
check "the old providers still work" \
    test "$(mitm https://api.anthropic.com/v1/messages -d '{}')" = 200
cp "$T/good.yaml" "$T/live.yaml"

# 4. A long download through a tunnel survives ten reloads, and
# requests sent during reloads all succeed.
want=$(python3 -c 'import hashlib;P=bytes(range(256))*256;n=64*1024*1024;h=hashlib.sha256();[h.update(P) for _ in range(n//len(P))];print(h.hexdigest())')
curl -sS -m 60 --limit-rate 16M -p -x "http://127.0.0.1:$PORT" \
    "http://127.0.0.1:$BPORT/download?n=67108864" -o "$T/dl" &
DL=$!
fails=0
for r in $(seq 1 10); do
	kill -HUP "$DAEMON_PID"
	code=$(mitm https://api.anthropic.com/v1/messages -d '{}')
	[ "$code" = 200 ] || fails=$((fails + 1))
	sleep 0.3
done
wait $DL; rc=$?
check "the tunnelled download finished across ten reloads" test "$rc" = 0
check "and arrived intact" test "$(sha256sum < "$T/dl" | cut -d' ' -f1)" = "$want"
check "every request sent during the reloads succeeded" test "$fails" = 0
check "the daemon reloaded each time" test "$(grep -c "parent: reloaded" "$LOG")" -ge 12

# 5. SIGTERM lets an in-flight intercepted download finish, refuses new
# connections meanwhile, then stops.
curl -sS -m 30 --limit-rate 8M -x "http://coder:$TOKEN@127.0.0.1:$PORT" \
    --cacert "$T/ca/ca.crt" "https://api.anthropic.com/stream?n=16777216" \
    -o "$T/stream" &
DL=$!
sleep 0.5
pid=$DAEMON_PID
kill -TERM "$pid"
sleep 0.3
curl -sS -m 3 -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null
check "no new connection is served while stopping" test $? != 0
wait $DL; rc=$?
check "the in-flight download finished after SIGTERM" \
    test "$rc" = 0 -a "$(stat -c %s "$T/stream")" = 16777216
wait "$pid"; rc=$?
DAEMON_PID=
check "then the daemon stopped, exit 0" test "$rc" = 0
check "the drain is logged" grep -q "stopping: 1 connections to finish" "$LOG"
