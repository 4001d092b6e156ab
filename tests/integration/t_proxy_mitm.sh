# Issue 3, interception (SPEC 4.1, 4.2): proxy credentials and the 407,
# the rewrite to the bridge for each provider, the token rule, the
# governance headers, hop-by-hop headers, what is refused inside the
# TLS session, keep-alive and pipelining, the leaf cache, and the bridge
# itself: restarted, behind TLS (trusted or not), or down.
. "$(dirname "$0")/lib.sh"
proxy_setup
UUID4='^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'

start_bridge "$BPORT" "$BLOG" || { nok "bridge starts"; exit 0; }
BRIDGE_PID=${BG_PIDS##* }
proxy_config "$T/p.yaml" "$PORT" "http://127.0.0.1:$BPORT" \
    "tunnel: { ports: [443, 8443] }"
start_daemon "$T/p.yaml" || { nok "daemon starts"; exit 0; }

# curl through the proxy with the token as the proxy password.
mc() {
	curl -sS --max-time 20 -x "http://coder:$TOKEN@$P" --cacert "$CA" "$@"
}
# One request through the proxy that must reach the bridge.
via() {
	local desc="$1" n0
	shift
	n0=$(bcount)
	mc -o /dev/null -d '{}' "$@"
	check "$desc: the request reaches the bridge" \
	    test "$(bcount)" = $((n0 + 1))
}
# Header NAME as the bridge got it in the last request ("" if absent).
bh() {
	blog "$BLOG" header -1 "$1" 2>/dev/null
}
bcount() {
	blog "$BLOG" count
}

# --- 4.1: credentials.  A raw CONNECT, the answer read to the close.
b64() {
	printf '%s' "$1" | base64 -w0
}
expect_407() {
	local desc="$1" extra="$2" target="${3:-api.anthropic.com:443}"
	check "407 with the realm, then close: $desc" pc raw --proxy "$P" \
	    --send "CONNECT $target HTTP/1.1\r\nHost: $target\r\n$extra\r\n" \
	    --expect-status 407 \
	    --expect-header 'Proxy-Authenticate: Basic realm="aibproxyd"' \
	    --expect-body 'Proxy Authentication Required' --expect-closed
}
expect_407 "no credentials" ""
expect_407 "invalid base64" 'Proxy-Authorization: Basic not-valid-base64!\r\n'
expect_407 "empty token (ignored:)" \
    "Proxy-Authorization: Basic $(b64 ignored:)\r\n"
expect_407 "no colon in the credentials" \
    "Proxy-Authorization: Basic $(b64 "$TOKEN")\r\n"
expect_407 "unpadded base64" \
    "Proxy-Authorization: Basic $(b64 "coder:$TOKEN" | tr -d =)\r\n"
expect_407 "Bearer scheme" "Proxy-Authorization: Bearer $TOKEN\r\n"
expect_407 "two Proxy-Authorization headers" \
    "Proxy-Authorization: Basic $(b64 "coder:$TOKEN")\r\nProxy-Authorization: Basic $(b64 coder:other)\r\n"
expect_407 "provider host in upper case is still a provider" "" \
    "API.Anthropic.COM:443"
expect_407 "provider host with a trailing dot is still a provider" "" \
    "api.anthropic.com.:443"
expect_407 "provider on another allowed port" "" "api.openai.com:8443"

# Good credentials: 200, TLS with the leaf, ALPN http/1.1, an answer.
check "CONNECT with credentials: TLS with our leaf, ALPN http/1.1, 200" \
    pc mitm --proxy "$P" --token "$TOKEN" --cafile "$CA" \
    --alpn h2,http/1.1 --expect-alpn http/1.1 \
    --send 'GET /v1/models HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\n' \
    --expect-status 200
check "user name is ignored (ignored:TOKEN works)" pc raw --proxy "$P" \
    --send "CONNECT api.openai.com:443 HTTP/1.1\r\nHost: api.openai.com:443\r\nProxy-Authorization: Basic $(b64 "ignored:$TOKEN")\r\n\r\n" \
    --expect-status 200 --timeout 1
check "TLS server name other than the CONNECT's is refused" \
    pc mitm --proxy "$P" --token "$TOKEN" --cafile "$CA" \
    --sni api.openai.com --no-verify-name --expect-refused \
    --send 'GET /v1/models HTTP/1.1\r\nHost: api.openai.com\r\n\r\n'

# Port validation: a provider on a port not in tunnel.ports; no port.
check "provider CONNECT to a port not in tunnel.ports gets 403" \
    pc raw --proxy "$P" --expect-status 403 --expect-closed \
    --send "CONNECT api.anthropic.com:9443 HTTP/1.1\r\nHost: api.anthropic.com:9443\r\nProxy-Authorization: Basic $(b64 "coder:$TOKEN")\r\n\r\n"
check "CONNECT without a port gets 400" \
    pc raw --proxy "$P" --expect-status 400 --expect-closed \
    --send "CONNECT api.anthropic.com HTTP/1.1\r\nHost: api.anthropic.com\r\nProxy-Authorization: Basic $(b64 "coder:$TOKEN")\r\n\r\n"

# --- 4.2: the rewrite, for every provider.
for row in "anthropic api.anthropic.com /v1/messages" \
    "openai api.openai.com /v1/chat/completions" \
    "copilot api.individual.githubcopilot.com /chat/completions" \
    "openrouter openrouter.ai /api/v1/chat/completions" \
    "anthropic api.anthropic.com:8443 /v1/messages" \
    "anthropic api.anthropic.com /v1/messages?beta=true&x=%2F"; do
	set -- $row
	want="/api/v2/aibridge/$1$3"
	out=$(mc -d '{}' "https://$2$3")
	check_eq "$2$3 reaches the bridge at $want" \
	    "$(blog "$BLOG" get -1 path)" "$want"
	check_eq "$2$3: curl got the bridge's answer" "$out" \
	    "{\"ok\": true, \"path\": \"$want\"}"
done

# --- The token rule (SPEC 4.2 table), plus X-Api-Key as the credential.
via "no client credential" https://api.anthropic.com/v1/messages
check_eq "no client credential: Authorization: Bearer <token> added" \
    "$(bh Authorization)" "Bearer $TOKEN"
check_eq "no client credential: no governance token header" \
    "$(bh X-Coder-AI-Governance-Token)" ""
via "Bearer equal to the token" -H "Authorization: Bearer $TOKEN" \
    https://api.anthropic.com/v1/messages
check_eq "Bearer equal to the token: Authorization unchanged" \
    "$(bh Authorization)" "Bearer $TOKEN"
check_eq "Bearer equal to the token: no governance token header" \
    "$(bh X-Coder-AI-Governance-Token)" ""
via "different Bearer" -H "Authorization: Bearer sk-user-key" \
    https://api.anthropic.com/v1/messages
check_eq "different Bearer (BYOK): client's Authorization kept" \
    "$(bh Authorization)" "Bearer sk-user-key"
check_eq "different Bearer (BYOK): governance token added" \
    "$(bh X-Coder-AI-Governance-Token)" "$TOKEN"
via "X-Api-Key equal to the token" -H "X-Api-Key: $TOKEN" \
    https://api.anthropic.com/v1/messages
check_eq "X-Api-Key equal to the token: X-Api-Key unchanged" \
    "$(bh X-Api-Key)" "$TOKEN"
check_eq "X-Api-Key equal to the token: no Authorization, no governance" \
    "$(bh Authorization)/$(bh X-Coder-AI-Governance-Token)" "/"
via "different X-Api-Key" -H "X-Api-Key: sk-ant-user" \
    https://api.anthropic.com/v1/messages
check_eq "different X-Api-Key (BYOK): X-Api-Key kept" \
    "$(bh X-Api-Key)" "sk-ant-user"
check_eq "different X-Api-Key (BYOK): governance token added, no Authorization" \
    "$(bh X-Coder-AI-Governance-Token)/$(bh Authorization)" "$TOKEN/"
via "copilot BYOK" -H "Authorization: Bearer ghu_user" \
    https://api.individual.githubcopilot.com/chat/completions
check_eq "copilot BYOK: Authorization kept and governance token added" \
    "$(bh Authorization)/$(bh X-Coder-AI-Governance-Token)" \
    "Bearer ghu_user/$TOKEN"

# A client's own governance token never reaches the bridge.
via "forged governance token (BYOK)" \
    -H "Authorization: Bearer sk-user-key" \
    -H "X-Coder-AI-Governance-Token: forged-token" \
    https://api.anthropic.com/v1/messages
check_eq "client X-Coder-AI-Governance-Token replaced by the proxy token (BYOK)" \
    "$(bh X-Coder-AI-Governance-Token)" "$TOKEN"
via "forged governance token (no credential)" \
    -H "X-Coder-AI-Governance-Token: forged-token" \
    https://api.anthropic.com/v1/messages
# The bridge reads the governance header first, then the Bearer.
who=$(bh X-Coder-AI-Governance-Token)
[ -n "$who" ] || who=$(bh Authorization | sed 's/^Bearer //')
check_eq "client X-Coder-AI-Governance-Token replaced (no credential): the bridge sees the token" \
    "$who" "$TOKEN"
check "the forged governance token is nowhere in the forwarded request" \
    sh -c "! tail -1 '$BLOG' | grep -q forged-token"

# The request id: fresh UUIDv4, the client's replaced, in the audit line.
via "forged request id" \
    -H 'X-Coder-AI-Governance-Request-Id: 11111111-1111-4111-8111-111111111111' \
    https://api.anthropic.com/v1/messages
rid=$(bh X-Coder-AI-Governance-Request-Id)
check "request id is a UUIDv4 (got $rid)" \
    sh -c "printf '%s' '$rid' | grep -qE '$UUID4'"
check "request id is sent once and the client's value is replaced" \
    test "$(printf '%s\n' "$rid" | wc -l)" = 1 -a \
    "$rid" != 11111111-1111-4111-8111-111111111111
check "the audit line carries the request id and the token id only" \
    grep -qE "request $rid client 127\.0\.0\.1:[0-9]+ provider anthropic POST /v1/messages status 200 .* token abcdef1234$" "$LOG"

# Host is the bridge's; hop-by-hop headers stay on this hop.
via "hop-by-hop headers" -H 'Connection: keep-alive, X-Hop' \
    -H 'Keep-Alive: timeout=5' -H 'TE: trailers' -H 'X-Hop: 1' \
    -H 'Proxy-Authorization: Basic Zm9vOmJhcg==' \
    -H 'Proxy-Connection: keep-alive' -H 'X-End: kept' \
    https://api.anthropic.com/v1/messages
check_eq "Host at the bridge is the bridge's host:port" "$(bh Host)" \
    "127.0.0.1:$BPORT"
for h in Connection Keep-Alive TE Proxy-Authorization Proxy-Connection X-Hop; do
	check_eq "$h is not forwarded to the bridge" "$(bh "$h")" ""
done
check_eq "an end-to-end header is forwarded" "$(bh X-End)" "kept"

# --- Refused inside the TLS session: the bridge hears nothing of them.
n0=$(bcount)
for p in '/v1/../../api/v2/users/me' '/v1/%2e%2e/%2e%2e/api/v2/users/me' \
    '/v1/..%2f..%2fapi/v2/users/me' '/v1/%2E%2E/x' '/v1/./messages' \
    '/v1/messages%2F..%2F..%2Fusers'; do
	code=$(mc --path-as-is -o /dev/null -w '%{http_code}' \
	    "https://api.anthropic.com$p")
	check_eq "traversal $p refused with 400 inside TLS" "$code" 400
done
check "absolute-form target with another authority gets 400" \
    pc mitm --proxy "$P" --token "$TOKEN" --cafile "$CA" \
    --send 'GET https://evil.example/x HTTP/1.1\r\nHost: evil.example\r\n\r\n' \
    --expect-status 400
check "absolute-form target with another port gets 400" \
    pc mitm --proxy "$P" --token "$TOKEN" --cafile "$CA" \
    --send 'GET https://api.anthropic.com:8443/x HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\n' \
    --expect-status 400
code=$(mc -o /dev/null -w '%{http_code}' -H 'Connection: Upgrade' \
    -H 'Upgrade: websocket' -H 'Sec-WebSocket-Version: 13' \
    -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \
    https://api.anthropic.com/v1/realtime)
check_eq "Upgrade: websocket gets 501 inside TLS" "$code" 501
check_eq "the bridge recorded none of the refused requests" "$(bcount)" "$n0"
check "absolute-form target with the CONNECT's authority is routed" \
    pc mitm --proxy "$P" --token "$TOKEN" --cafile "$CA" \
    --send 'GET https://api.anthropic.com/v1/abs HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\n' \
    --expect-status 200 \
    --expect-body '{"ok": true, "path": "/api/v2/aibridge/anthropic/v1/abs"}'

# --- Keep-alive: 20 requests, one CONNECT, one bridge connection.
n0=$(bcount)
c0=$(log_count 'CONNECT api\.anthropic\.com:443 authenticated')
codes=$(mc -o /dev/null -w '%{http_code}\n' \
    "https://api.anthropic.com/v1/messages?i=[1-20]" | sort | uniq -c |
    awk '{print $1 "x" $2}')
check_eq "20 requests on one client connection all answered 200" \
    "$codes" "20x200"
check_eq "the bridge got all 20" "$(( $(bcount) - n0 ))" 20
check_eq "the bridge got them on one TCP connection" \
    "$(blog "$BLOG" conns "$n0")" 1
check_eq "the daemon saw one CONNECT for them" \
    "$(( $(log_count 'CONNECT api\.anthropic\.com:443 authenticated') - c0 ))" 1
ids=$(blog "$BLOG" header-all X-Coder-AI-Governance-Request-Id "$n0")
check_eq "20 distinct request ids" "$(printf '%s\n' "$ids" | sort -u | wc -l)" 20
check_eq "all of them UUIDv4" "$(printf '%s\n' "$ids" | grep -cE "$UUID4")" 20

# Pipelined requests are answered in order; HEAD has no body to wait
# for; POST bodies keep their framing across keep-alive requests.
out=$(pc mitm --proxy "$P" --token "$TOKEN" --cafile "$CA" --print \
    --expect-closed --send 'GET /v1/p1 HTTP/1.1\r\nHost: api.anthropic.com\r\n\r\nGET /v1/p2 HTTP/1.1\r\nHost: api.anthropic.com\r\nConnection: close\r\n\r\n')
check_eq "two pipelined requests: both answered, in order" \
    "$(printf '%s' "$out" | grep -o 'aibridge/anthropic/v1/p[12]' | tr '\n' ' ')" \
    "aibridge/anthropic/v1/p1 aibridge/anthropic/v1/p2 "
c0=$(log_count 'CONNECT api\.anthropic\.com:443 authenticated')
out=$(curl -sS --max-time 10 -x "http://coder:$TOKEN@$P" --cacert "$CA" \
    -I -o /dev/null -w '%{http_code} ' https://api.anthropic.com/v1/head \
    --next -x "http://coder:$TOKEN@$P" --cacert "$CA" -o /dev/null \
    -w '%{http_code}' https://api.anthropic.com/v1/after-head)
check_eq "HEAD then GET on one connection: both answered" "$out" "200 200"
check_eq "HEAD then GET: one CONNECT" \
    "$(( $(log_count 'CONNECT api\.anthropic\.com:443 authenticated') - c0 ))" 1
head -c 100000 /dev/urandom > "$T/post.bin"
n0=$(bcount)
mc -o /dev/null --data-binary @"$T/post.bin" \
    "https://api.anthropic.com/v1/post?i=[1-5]"
check_eq "5 POSTs of 100000 bytes on one connection: the bridge got each whole" \
    "$(blog "$BLOG" field-all body_len "$n0" | sort -u | tr '\n' ' ')/$(( $(bcount) - n0 ))" \
    "100000 /5"
n0=$(bcount)
check "Content-Length with Transfer-Encoding: 400 and close" \
    pc mitm --proxy "$P" --token "$TOKEN" --cafile "$CA" \
    --expect-status 400 --expect-closed \
    --send 'POST /v1/x HTTP/1.1\r\nHost: api.anthropic.com\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'
check "two different Content-Lengths: 400 and close" \
    pc mitm --proxy "$P" --token "$TOKEN" --cafile "$CA" \
    --expect-status 400 --expect-closed \
    --send 'POST /v1/x HTTP/1.1\r\nHost: api.anthropic.com\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab'
check_eq "the bridge got neither ambiguous request" "$(bcount)" "$n0"

# A token may hold a colon: everything after the first one.
curl -sS --max-time 10 -x "http://coder:abc:def@$P" --cacert "$CA" \
    -o /dev/null https://api.anthropic.com/v1/colon
check_eq "a token with a colon is taken whole" "$(bh Authorization)" \
    "Bearer abc:def"

# The bridge restarts: the pooled connection is dead, requests go on.
mc -o /dev/null -d '{}' https://api.anthropic.com/v1/before-restart
bg_kill "$BRIDGE_PID"
start_bridge "$BPORT" "$BLOG" || nok "bridge restarts"
BRIDGE_PID=${BG_PIDS##* }
out=$(mc -w ' %{http_code}' -d '{}' https://api.anthropic.com/v1/after-restart)
check_eq "after a bridge restart the next request is answered" "$out" \
    '{"ok": true, "path": "/api/v2/aibridge/anthropic/v1/after-restart"} 200'

# The leaf for a provider is made once; the token secret is never logged.
check_eq "one certificate asked for api.anthropic.com across connections" \
    "$(log_count 'asked signer for api\.anthropic\.com$')" 1
check_eq "no provider host was ever resolved (intercepts dial nothing)" \
    "$(log_count 'asks for (api\.|openrouter\.ai)')" 0
check_eq "the token's secret part is never logged" \
    "$(log_count 'S3cretS3cret')" 0

# --- A TLS bridge: verified against bridge.ca, never skipped.
stop_daemon
make_listener_cert "$T/bridge-tls"
SPORT=$(free_port)
SLOG=$T/bridge-tls.log
start_bridge "$SPORT" "$SLOG" --tls "$T/bridge-tls/listen.crt" \
    "$T/bridge-tls/listen.key" || nok "TLS bridge starts"
proxy_config "$T/tls.yaml" "$PORT" "https://127.0.0.1:$SPORT"
sed -i "s|^  url: https://127.0.0.1:$SPORT\$|&\\
  ca: $T/bridge-tls/listen.crt|" "$T/tls.yaml"
start_daemon "$T/tls.yaml" || { nok "daemon starts (TLS bridge)"; exit 0; }
out=$(mc -d '{}' https://api.anthropic.com/v1/messages)
check_eq "TLS bridge trusted through bridge.ca: answered" "$out" \
    '{"ok": true, "path": "/api/v2/aibridge/anthropic/v1/messages"}'
check_eq "TLS bridge: Host is the bridge's host:port" \
    "$(blog "$SLOG" header -1 Host 2>/dev/null)" "127.0.0.1:$SPORT"
stop_daemon
proxy_config "$T/untrusted.yaml" "$PORT" "https://127.0.0.1:$SPORT"
start_daemon "$T/untrusted.yaml" ||
    { nok "daemon starts (untrusted bridge)"; exit 0; }
n0=$(blog "$SLOG" count)
code=$(mc -o /dev/null -w '%{http_code}' -d '{}' \
    https://api.anthropic.com/v1/messages)
check_eq "TLS bridge with an untrusted certificate: 502 inside TLS" "$code" 502
check_eq "TLS bridge with an untrusted certificate: it got no request" \
    "$(blog "$SLOG" count)" "$n0"

# --- The bridge is down: 502 inside TLS, not a dropped connection.
stop_daemon
DEAD=$(free_port)
proxy_config "$T/down.yaml" "$PORT" "http://127.0.0.1:$DEAD"
start_daemon "$T/down.yaml" || { nok "daemon starts (bridge down)"; exit 0; }
out=$(mc -w '\n%{http_code}' -d '{}' https://api.anthropic.com/v1/messages)
rc=$?
check_eq "bridge down: curl gets HTTP 502 over TLS" \
    "$rc/$(echo "$out" | tail -1)" "0/502"
check_eq "bridge down: the body says Bad Gateway" "$(echo "$out" | head -1)" \
    "Bad Gateway"
check "bridge down: the failure is logged" \
    grep -qE 'request [0-9a-f-]+ client .* status 502' "$LOG"
