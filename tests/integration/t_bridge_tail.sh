# Bytes a bridge sends after a complete response belong to no request
# (RFC 9112 section 9.5): a pooled connection that still holds some, in
# the read-ahead or inside TLS where the socket no longer signals them,
# must never serve the next request, which may be another user's.  The
# test bridge answers .../tail and then sends a second, fake answer
# ("EVIL", 68 bytes) in the same TCP segment; one worker, so one pool.
# A clean connection is still reused.
. "$(dirname "$0")/lib.sh"
proxy_setup
TOKEN2=fedcba9876-An0therAn0therAn0therAn0t

make_listener_cert "$T/bridge-tls"
start_bridge "$BPORT" "$BLOG" --tls "$T/bridge-tls/listen.crt" \
    "$T/bridge-tls/listen.key" || { nok "TLS bridge starts"; exit 0; }
proxy_config "$T/p.yaml" "$PORT" "https://127.0.0.1:$BPORT"
sed -i "s|^  url: https://127.0.0.1:$BPORT\$|&\\
  ca: $T/bridge-tls/listen.crt|" "$T/p.yaml"
start_daemon "$T/p.yaml" || { nok "daemon starts"; exit 0; }

# mc TOKEN ARGS...: curl through the proxy as the user of TOKEN.
mc() {
	local tok="$1"; shift
	curl -sS --max-time 20 -x "http://coder:$tok@$P" --cacert "$CA" "$@"
}
bcount() {
	blog "$BLOG" count
}

# tail_case KIND [QUERY] [CURL ARGS]: a user gets the tail answer, then
# another user's request must get its own answer from the bridge, on a
# new connection.
tail_case() {
	local kind="$1" q="${2:-}" n0 want out
	shift $(( $# < 2 ? $# : 2 ))
	n0=$(bcount)
	mc "$TOKEN" -o "$T/first.out" -w '%{http_code}' "$@" \
	    "https://api.anthropic.com/v1/tail?kind=$kind$q" > "$T/first.code"
	if [ "$kind" = 204 ]; then
		check_eq "$kind$q: the first user gets the bridge's answer" \
		    "$(cat "$T/first.code")" 204
	else
		check_eq "$kind$q: the first user gets the bridge's answer" \
		    "$(cat "$T/first.code") $(cat "$T/first.out")" \
		    "200 {\"tail\": \"$kind\"}"
	fi
	want='{"ok": true, "path": "/api/v2/aibridge/anthropic/v1/next"}'
	out=$(mc "$TOKEN2" -d '{}' https://api.anthropic.com/v1/next)
	check_eq "$kind$q: the next user gets the answer to its request, not the fake" \
	    "$out" "$want"
	check_eq "$kind$q: the bridge got both requests, on two connections" \
	    "$(( $(bcount) - n0 )) $(blog "$BLOG" conns "$n0")" "2 2"
}

l0=$(wc -l < "$LOG")
tail_case cl
check_log "the bytes after the answer are logged as the bridge's error" \
    wait_log "bridge 127\.0\.0\.1:$BPORT: 68 bytes after a complete response" \
    "$l0"
tail_case cl "&write=one"
tail_case chunked
tail_case trailer
tail_case interim
tail_case 204

# HEAD: an answer with a Content-Length and no body; the fake follows.
n0=$(bcount)
code=$(mc "$TOKEN" -I -o /dev/null -w '%{http_code}' \
    "https://api.anthropic.com/v1/tail?kind=cl")
check_eq "HEAD: the first user gets the head" "$code" 200
out=$(mc "$TOKEN2" -d '{}' https://api.anthropic.com/v1/next)
check_eq "HEAD: the next user gets the answer to its request, not the body" \
    "$out" '{"ok": true, "path": "/api/v2/aibridge/anthropic/v1/next"}'
check_eq "HEAD: the bridge got both requests, on two connections" \
    "$(( $(bcount) - n0 )) $(blog "$BLOG" conns "$n0")" "2 2"

# A clean answer leaves a connection the next user's request reuses.
n0=$(bcount)
mc "$TOKEN" -o /dev/null -d '{}' https://api.anthropic.com/v1/one
mc "$TOKEN2" -o /dev/null -d '{}' https://api.anthropic.com/v1/two
mc "$TOKEN" -o /dev/null https://api.anthropic.com/v1/three
check_eq "clean answers: three users' requests on one bridge connection" \
    "$(( $(bcount) - n0 )) $(blog "$BLOG" conns "$n0")" "3 1"
check_eq "the daemon is still running" "$(kill -0 "$DAEMON_PID" && echo up)" up
