# Issue 10: with log.format json every line the daemon writes, from
# every process, is one JSON object, and the audit events carry every
# field aibproxyd(8) documents, with what the network sent escaped;
# a reload back to text switches every process.
. "$(dirname "$0")/lib.sh"
proxy_setup
D=$(doubles)
MAN=$(dirname "$0")/../../man/aibproxyd.8
GOOD=goodid1234-S3cretS3cretS3cretS3c12
# A user name with a backslash, a control byte and UTF-8 (the bridge's
# JSON says so; aibproxyd refuses only blanks and quotes in it).
printf '{"%s": "al\\\\ice\\u0001\\u00e9"}\n' "$GOOD" > "$T/users.json"
WHO=$(python3 -c 'import json,sys; print(list(json.load(open(sys.argv[1])).values())[0])' "$T/users.json")
OPORT=$(free_port)

start_bridge "$BPORT" "$BLOG" --users "$T/users.json" ||
    { nok "bridge starts"; exit 0; }
start_origin "$OPORT" http "$T/origin.log" || nok "origin starts"
write_config "$T/j.yaml" "$PORT" "$BPORT" \
    "auth: { tunnels: token, validate: { ttl: 60s } }" \
    "tunnel: { ports: [443, $OPORT], allowed_private_cidrs: [127.0.0.0/8] }" \
    "log: { format: json }"
start_daemon "$T/j.yaml" || { nok "daemon starts"; exit 0; }

mc() {
	curl -sS -m 10 -o /dev/null -w '%{http_code}' \
	    --proxy-user "coder:$GOOD" -x "http://$P" --cacert "$CA" "$@"
}
check_eq "an intercepted POST" \
    "$(mc -d '{}' 'https://api.anthropic.com/v1/messages?key=QuerySecret')" 200
RID=$(blog "$BLOG" header -1 X-Coder-AI-Governance-Request-Id)
check_eq "an intercepted GET to another provider" \
    "$(mc https://api.openai.com/v1/models)" 200
# Quotes and braces in a path, and a backslash (refused with 400 inside
# TLS, but audited): each event must still be one object.
QUOTED='/v1/"q"},{"status":1'
check "an intercepted request with quotes in its path" \
    pc mitm --proxy "$P" --token "$GOOD" --cafile "$CA" \
    --send "GET $QUOTED HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\n" \
    --expect-status 200
BACKSLASH='/v1/a\b"'
# pclient.py reads Python escapes: \\ sends one backslash.
check "an intercepted request with a backslash in its path is refused" \
    pc mitm --proxy "$P" --token "$GOOD" --cafile "$CA" \
    --send "GET /v1/a\\\\b\" HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\n" \
    --expect-status 400
check_eq "a tunnel" "$(mc -p "http://127.0.0.1:$OPORT/t")" 200
check_eq "a forwarded plain HTTP request" \
    "$(mc "http://127.0.0.1:$OPORT/f")" 200
check_eq "a tunnel to a private address is refused (403)" \
    "$(mc -w '%{http_connect}' -p "http://10.255.255.1:$OPORT/" 2>/dev/null | tail -c 3)" 403
check_eq "a CONNECT to a port not allowed is refused (403)" \
    "$(mc -w '%{http_connect}' -p "http://127.0.0.1:9/" 2>/dev/null | tail -c 3)" 403
check "a CONNECT without credentials gets 407" \
    pc raw --proxy "$P" --expect-status 407 --expect-closed \
    --send "CONNECT api.anthropic.com:443 HTTP/1.1\r\nHost: api.anthropic.com:443\r\n\r\n"
kill -HUP "$DAEMON_PID"
for i in $(seq 1 100); do
	grep -q '"msg":"reloaded: ' "$LOG" && break
	sleep 0.05
done
stop_daemon

# Every line, from every process, start to stop.
python3 "$D/logcheck.py" "$MAN" "$LOG" > "$T/events.json" 2> "$T/logcheck.err"
check "every line of the log is a JSON object with the fields aibproxyd.8 lists" \
    test $? = 0
sed 's/^/#   /' "$T/logcheck.err"
n() { python3 "$D/logcheck.py" "$MAN" "$LOG" --count "$1" 2>/dev/null; }
for proc in parent signer resolver 'proxy 0' 'proxy 1'; do
	check "lines from $proc" test "$(n "e['process'] == '$proc'")" -gt 0
done
check "several levels, debug among them (-v)" \
    test "$(n 'e["level"] == "debug"')" -gt 0 -a \
    "$(n 'e["level"] == "info"')" -gt 0
check_eq "the POST's audit event, field by field" \
    "$(n "e['event'] == 'request' and e['provider'] == 'anthropic' and e['method'] == 'POST' and e['path'] == '/v1/messages' and e['status'] == 200 and e['token_id'] == 'goodid1234' and e['user'] == '''$WHO''' and e['client'].startswith('127.0.0.1:') and e['bytes_up'] > 0 and e['bytes_down'] > 0 and e['outcome'] == 'completed' and e['destination'] is None and len(e['request_id']) == 36")" 1
check_eq "the request id is the one the bridge got" \
    "$(n "e['event'] == 'request' and e['request_id'] == '$RID'")" 1
check_eq "the path with quotes is one string, as sent" \
    "$(n "e['event'] == 'request' and e['path'] == r'''$QUOTED''' and e['status'] == 200")" 1
check_eq "the refused path with a backslash is one string, as sent" \
    "$(n "e['event'] == 'request' and e['path'] == r'''$BACKSLASH''' and e['status'] == 400")" 1
check_eq "the tunnel's audit event" \
    "$(n "e['event'] == 'tunnel' and e['destination'] == '127.0.0.1:$OPORT' and e['outcome'] == 'closed' and e['status'] is None and e['request_id'] is None and e['token_id'] == 'goodid1234' and e['bytes_up'] > 0 and e['bytes_down'] > 0")" 1
check_eq "the forwarded request's audit event" \
    "$(n "e['event'] == 'forward' and e['destination'] == '127.0.0.1:$OPORT' and e['outcome'] == 'closed'")" 1
check_eq "the refused tunnel's audit event" \
    "$(n "e['event'] == 'tunnel' and e['destination'] == '10.255.255.1:$OPORT' and e['outcome'] == 'blocked'")" 1
check "the refusals are warnings" \
    test "$(n "e['level'] == 'warning' and e['event'] == 'message'")" -ge 2
check "the msg of an audit event is its text line" \
    test "$(n "e['event'] == 'tunnel' and e['msg'].startswith('tunnel ' + e['client'] + ' -> ')")" -ge 1
check_eq "the parent's reload is logged in JSON" \
    "$(n "e['process'] == 'parent' and e['msg'].startswith('reloaded: ')")" 1
check "no token secret and no query anywhere in the log" \
    sh -c "! grep -qE 'S3cret|QuerySecret' '$LOG'"

# A reload to text switches every process; JSON again before.
start_daemon "$T/j.yaml" || { nok "daemon restarts"; exit 0; }
sed -i 's/^log: { format: json }$/log: { format: text }/' "$T/j.yaml"
before=$(wc -l < "$LOG")
kill -HUP "$DAEMON_PID"
for i in $(seq 1 100); do
	grep -q 'parent: reloaded' "$LOG" && break
	sleep 0.05
done
sleep 0.2
mc -d '{}' https://api.anthropic.com/v1/messages > /dev/null
mc -p "http://127.0.0.1:$OPORT/t2" > /dev/null
stop_daemon
tail -n +$((before + 1)) "$LOG" > "$T/after.log"
check "after a reload to text: the parent's line is text" \
    grep -q '^aibproxyd\[[0-9]*\]: parent: reloaded: ' "$T/after.log"
check "after a reload to text: signerd's line is text" \
    grep -q '^aibproxyd\[[0-9]*\]: signer: signing for ' "$T/after.log"
check "after a reload to text: the worker's audit line is text" \
    grep -qE '^aibproxyd\[[0-9]+\]: proxy [0-9]+: request [0-9a-f-]{36} client 127\.0\.0\.1:[0-9]+ provider anthropic POST /v1/messages status 200 up [0-9]+ down [0-9]+ [0-9.]+s token goodid1234 user ' "$T/after.log"
check "after a reload to text: the tunnel line is text" \
    grep -qE "^aibproxyd\[[0-9]+\]: proxy [0-9]+: tunnel 127\.0\.0\.1:[0-9]+ -> 127\.0\.0\.1:$OPORT: closed, " "$T/after.log"
# Until each process has taken the new configuration, it logs as before.
check "after a reload to text: no JSON once the worker's audit line is text" \
    sh -c "! sed -n '/: request [0-9a-f-]* client /,\$p' '$T/after.log' | grep -q '^{'"
