# Issue 9, egress policy by name and port range: tunnel.allow and
# tunnel.deny (apex, evil look-alikes, case, trailing dot, IP literals
# in their resolver spellings, deny over allow), port ranges with their
# ends, plain HTTP forwarding under the same rules, provider hosts never
# subject to the lists, "-n" naming file:line, a reload that changes
# the lists, and aibproxyd_tunnel_refused_total equal to what was sent,
# summed over two workers.
#
# Names that must resolve are "localhost" (/etc/hosts); every other
# name is under .invalid (RFC 6761 6.4), so that a name the lists let
# through ends in 502 from the resolver, and one they refuse is never
# looked up at all.
. "$(dirname "$0")/lib.sh"
proxy_setup
MPORT=$(free_port)
# Two HTTP origins on the two ends of the range in tunnel.ports, and a
# reading one on a port listed alone, away from the range (an overlap
# is a configuration error) and from the ports just outside it.
while :; do
	RLO=$(free_port)
	RHI=$(free_port)
	OEOF=$(free_port)
	[ "$RLO" -gt "$RHI" ] && { t=$RLO; RLO=$RHI; RHI=$t; }
	[ "$RLO" -ne "$RHI" ] || continue
	[ "$OEOF" -lt $((RLO - 1)) ] || [ "$OEOF" -gt $((RHI + 1)) ] ||
	    continue
	break
done
OLOG=$T/origin.log
BODY='destination not allowed by policy\n'
PORTS="  ports: [443, $OEOF, \"$RLO-$RHI\"]"

start_bridge "$BPORT" "$BLOG" || { nok "bridge starts"; exit 0; }
start_origin "$RLO" http "$OLOG" || { nok "origin starts"; exit 0; }
start_origin "$RHI" http "$OLOG" || { nok "origin starts"; exit 0; }
start_origin "$OEOF" eof || { nok "origin starts"; exit 0; }

declare -A want
reset_counts() { want=([port]=0 [private]=0 [policy]=0 [auth]=0); }

# refused DESC REASON STATUS BODY REQUEST: a raw request, its answer,
# and one refusal of REASON counted.
refused() {
	local desc="$1" reason="$2" status="$3" body="$4" req="$5"
	check_log "$desc" pc raw --proxy "$P" --send "$req" \
	    --expect-status "$status" --expect-body "$body" --expect-closed
	want[$reason]=$((want[$reason] + 1))
}
# connect TARGET [CREDENTIALS]: a CONNECT request head.
connect() {
	local h="CONNECT $1 HTTP/1.1\r\nHost: $1\r\n"
	[ -n "${2:-}" ] && h="${h}Proxy-Authorization: Basic $(b64 "$2")\r\n"
	printf '%s\\r\\n' "$h"
}
# get URL [CREDENTIALS]: an absolute-form GET.
get() {
	local host=${1#http://}
	host=${host%%/*}
	local h="GET $1 HTTP/1.1\r\nHost: $host\r\n"
	[ -n "${2:-}" ] && h="${h}Proxy-Authorization: Basic $(b64 "$2")\r\n"
	printf '%s\\r\\n' "$h"
}
# A CONNECT the lists let through to a name that does not resolve.
passes() {
	check_log "$1" pc raw --proxy "$P" --send "$(connect "$2" "${3:-}")" \
	    --expect-status 502 --expect-body "Bad Gateway" --expect-closed
}
looked_up() {
	grep -cE "proxy [0-9]+ asks for ($1)\$" "$LOG"
}
ocount() {
	blog "$OLOG" count 2>/dev/null || echo 0
}
scrape() {
	curl -sS -m 5 "http://127.0.0.1:$MPORT/metrics" > "$T/m.txt" &&
	    python3 "$(doubles)/promcheck.py" "$T/m.txt" > "$T/m.json"
}
val() {
	python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1])).get(sys.argv[2], -1)))' \
	    "$T/m.json" "$1"
}
# The counters equal what was sent, reason by reason.
check_counts() {
	local r
	check "$1: the exposition parses strictly" scrape
	for r in port private policy auth; do
		check_eq "$1: tunnel_refused_total{reason=\"$r\"}" \
		    "$(val "aibproxyd_tunnel_refused_total{reason=\"$r\"}")" \
		    "${want[$r]}"
	done
}
two_workers() {
	sed -i 's/^workers: 1$/workers: 2/' "$1"
}

# --- "-n" checks every pattern and range, naming file:line.
proxy_config "$T/bad.yaml" "$PORT" "http://127.0.0.1:$BPORT" "tunnel:
  ports: [443, \"9000-8000\"]
  allow: [\"*.github.com\", \"*.*.com\"]
  deny: [a..example.com, 10.0.0.0/8]"
out=$("$AIBPROXYD" -n -f "$T/bad.yaml" 2>&1)
rc=$?
lp=$(grep -n '^  ports:' "$T/bad.yaml" | cut -d: -f1)
check "-n: a bad configuration fails" test "$rc" -ne 0
check_eq "-n: a bad range is named with file:line" \
    "$(printf '%s\n' "$out" | grep -F 'tunnel.ports[1]')" \
    "$T/bad.yaml:$lp: tunnel.ports[1]: \"9000-8000\" is not a port range: it starts above its end"
check_eq "-n: a bad wildcard is named with file:line" \
    "$(printf '%s\n' "$out" | grep -F 'tunnel.allow[1]')" \
    "$T/bad.yaml:$((lp + 1)): tunnel.allow[1]: \"*.*.com\" is not a host pattern: \"*\" is allowed only as the first label, as in \"*.example.com\""
check_eq "-n: an empty label is named with file:line" \
    "$(printf '%s\n' "$out" | grep -F 'tunnel.deny[0]')" \
    "$T/bad.yaml:$((lp + 2)): tunnel.deny[0]: \"a..example.com\" is not a host pattern: empty label"
check_eq "-n: a CIDR range is refused" \
    "$(printf '%s\n' "$out" | grep -F 'tunnel.deny[1]')" \
    "$T/bad.yaml:$((lp + 2)): tunnel.deny[1]: \"10.0.0.0/8\" is not a host pattern: CIDR ranges are not accepted, list single addresses"

# --- deny alone: everything else may go.
reset_counts
proxy_config "$T/deny.yaml" "$PORT" "http://127.0.0.1:$BPORT" \
    "metrics: { listen: 127.0.0.1:$MPORT }" "tunnel:
$PORTS
  deny: [\"*.deny.invalid\", exact.other.invalid, 127.0.0.2,
      \"::ffff:127.0.0.3\", \"*.anthropic.com\"]
  allowed_private_cidrs: [127.0.0.0/8]"
two_workers "$T/deny.yaml"
check "-n: the deny configuration is good" "$AIBPROXYD" -n -f "$T/deny.yaml"
start_daemon "$T/deny.yaml" || { nok "daemon starts (deny)"; exit 0; }

out=$(curl -sS --max-time 10 -p -x "http://$P" "http://127.0.0.1:$RLO/a1")
check_eq "deny: a tunnel to the range's first port works" "$out" "origin /a1"
out=$(curl -sS --max-time 10 -p -x "http://$P" "http://localhost:$RHI/a2")
check_eq "deny: a tunnel by name to the range's last port works" "$out" \
    "origin /a2"
out=$(curl -sS --max-time 10 -x "http://$P" "http://localhost:$RHI/a3")
check_eq "deny: a forwarded request to a name not denied works" "$out" \
    "origin /a3"
check "deny: a tunnel to a listed single port works" \
    pc tunnel --proxy "$P" --connect "localhost:$OEOF" --half-close \
    --send 'x\n' --expect-data 'got {len} {sha256}\n'

refused "deny: \"*.deny.invalid\" refuses a name under it" policy 403 \
    "$BODY" "$(connect x.deny.invalid:443)"
refused "deny: ... at any depth, in upper case, with a trailing dot" \
    policy 403 "$BODY" "$(connect A.B.DENY.INVALID.:443)"
passes "deny: ... but not deny.invalid itself (the apex)" deny.invalid:443
passes "deny: ... nor evildeny.invalid" evildeny.invalid:443
refused "deny: an exact name refuses itself" policy 403 "$BODY" \
    "$(connect Exact.Other.Invalid:443)"
passes "deny: ... and no name under it" sub.exact.other.invalid:443
check_eq "deny: refused names were never looked up" \
    "$(looked_up 'x\.deny\.invalid|a\.b\.deny\.invalid\.?|exact\.other\.invalid')" 0
check "deny: names let through were looked up" \
    test "$(looked_up 'deny\.invalid|evildeny\.invalid')" -ge 2
check "deny: the refusal is logged with the pattern" \
    grep -qE "conn [0-9]+ 127\.0\.0\.1:[0-9]+: refusing CONNECT x\.deny\.invalid:443: matches tunnel\.deny \"\*\.deny\.invalid\"" "$LOG"

n0=$(ocount)
refused "deny: an address entry refuses that address" policy 403 "$BODY" \
    "$(connect "127.0.0.2:$RLO")"
refused "deny: ... written as the resolver reads \"127.2\"" policy 403 \
    "$BODY" "$(connect "127.2:$RLO")"
refused "deny: ... or as \"2130706434\"" policy 403 "$BODY" \
    "$(connect "2130706434:$RLO")"
refused "deny: a mapped entry refuses the IPv4 address" policy 403 \
    "$BODY" "$(connect "127.0.0.3:$RLO")"
refused "deny: ... and the mapped one in brackets" policy 403 "$BODY" \
    "$(connect "[::ffff:127.0.0.3]:$RLO")"
refused "deny: a forwarded request is under the same rules" policy 403 \
    "$BODY" "$(get "http://y.deny.invalid:$RLO/fwd")"
refused "deny: ... by address too" policy 403 "$BODY" \
    "$(get "http://127.0.0.2:$RHI/fwd")"
check_eq "deny: the origins heard none of them" "$(ocount)" "$n0"

# Ports: each end of the range is in, the next port out is not.
refused "ports: the port below the range is refused" port 403 Forbidden \
    "$(connect "127.0.0.1:$((RLO - 1))")"
refused "ports: the port above the range is refused" port 403 Forbidden \
    "$(connect "localhost:$((RHI + 1))")"
refused "ports: the port comes first, even for a denied name" port 403 \
    Forbidden "$(connect "x.deny.invalid:$((RHI + 1))")"
refused "ports: a forwarded request outside the range is refused" port \
    403 Forbidden "$(get "http://localhost:$((RLO - 1))/")"
refused "private: an address outside allowed_private_cidrs" private 403 \
    Forbidden "$(connect 10.1.2.3:443)"
refused "private: ... for a forwarded request too" private 403 Forbidden \
    "$(get "http://169.254.169.254:443/")"

# Provider hosts are intercepted, whatever tunnel.deny says.
out=$(curl -sS --max-time 10 -x "http://coder:$TOKEN@$P" --cacert "$CA" \
    -d '{}' https://api.anthropic.com/v1/messages)
check_eq "deny: a provider host matched by deny is still intercepted" \
    "$out" '{"ok": true, "path": "/api/v2/aibridge/anthropic/v1/messages"}'
refused "auth: a provider CONNECT without credentials gets 407" auth 407 \
    "Proxy Authentication Required" "$(connect api.anthropic.com:443)"
refused "policy: a provider host by plain HTTP is refused" policy 403 \
    "$BODY" "$(get http://api.openai.com/v1/models)"
check_counts "deny"

# --- allow and deny, with auth.tunnels: token.
stop_daemon
reset_counts
proxy_config "$T/allow.yaml" "$PORT" "http://127.0.0.1:$BPORT" \
    "metrics: { listen: 127.0.0.1:$MPORT }" "auth: { tunnels: token }" \
    "tunnel:
$PORTS
  allow: [localhost, 127.0.0.1, \"*.Allow.Invalid.\", \"::1\"]
  deny: [no.allow.invalid]
  allowed_private_cidrs: [127.0.0.1/32]"
two_workers "$T/allow.yaml"
start_daemon "$T/allow.yaml" || { nok "daemon starts (allow)"; exit 0; }
C=coder:$TOKEN

out=$(curl -sS --max-time 10 -p -x "http://$C@$P" "http://localhost:$RLO/b1")
check_eq "allow: a listed name may tunnel" "$out" "origin /b1"
out=$(curl -sS --max-time 10 -p -x "http://$C@$P" "http://127.0.0.1:$RHI/b2")
check_eq "allow: a listed address may tunnel" "$out" "origin /b2"
check "allow: upper case and a trailing dot do not matter" \
    pc tunnel --proxy "$P" --token "$TOKEN" --connect "LocalHost.:$OEOF" \
    --half-close --send 'y\n' --expect-data 'got {len} {sha256}\n'
check "allow: the address as the resolver reads \"2130706433\"" \
    pc tunnel --proxy "$P" --token "$TOKEN" --connect "2130706433:$OEOF" \
    --half-close --send 'z\n' --expect-data 'got {len} {sha256}\n'
out=$(curl -sS --max-time 10 -x "http://$C@$P" "http://localhost:$RLO/b3")
check_eq "allow: a forwarded request to a listed name works" "$out" \
    "origin /b3"
passes "allow: a name under \"*.allow.invalid\" may go" \
    a.b.allow.invalid:443 "$C"

n0=$(ocount)
refused "allow: the apex of a wildcard is not allowed" policy 403 "$BODY" \
    "$(connect allow.invalid:443 "$C")"
refused "allow: nor evilallow.invalid" policy 403 "$BODY" \
    "$(connect evilallow.invalid:443 "$C")"
refused "allow: deny wins over allow" policy 403 "$BODY" \
    "$(connect No.Allow.Invalid.:443 "$C")"
check "allow: ... and says so in the log" \
    grep -qE "refusing CONNECT no\.allow\.invalid:443: matches tunnel\.deny \"no\.allow\.invalid\"" "$LOG"
refused "allow: an address not listed is refused" policy 403 "$BODY" \
    "$(connect "127.0.0.2:$RLO" "$C")"
check "allow: ... as not in tunnel.allow" \
    grep -qE "refusing CONNECT 127\.0\.0\.2:$RLO: not in tunnel\.allow" "$LOG"
refused "allow: a listed address does not let its name in" policy 403 \
    "$BODY" "$(connect "localhost.localdomain:$RLO" "$C")"
refused "allow: the policy comes before credentials" policy 403 "$BODY" \
    "$(connect example.invalid:443)"
refused "allow: a forwarded request is under the same rules" policy 403 \
    "$BODY" "$(get "http://www.example.invalid:$RLO/" "$C")"
check_eq "allow: the origins heard none of them" "$(ocount)" "$n0"
check_eq "allow: refused names were never looked up" \
    "$(looked_up '(no\.)?allow\.invalid\.?|evilallow\.invalid|(www\.)?example\.invalid|localhost\.localdomain')" 0

refused "auth: an allowed tunnel without credentials gets 407" auth 407 \
    "Proxy Authentication Required" "$(connect "localhost:$RLO")"
refused "auth: an allowed forwarded request without them too" auth 407 \
    "Proxy Authentication Required" "$(get "http://localhost:$RLO/")"
refused "auth: a provider CONNECT, not in allow, gets 407 and not 403" \
    auth 407 "Proxy Authentication Required" "$(connect api.openai.com:443)"
out=$(curl -sS --max-time 10 -x "http://$C@$P" --cacert "$CA" \
    -d '{}' https://api.openai.com/v1/chat/completions)
check_eq "allow: a provider host not in allow is still intercepted" \
    "$out" '{"ok": true, "path": "/api/v2/aibridge/openai/v1/chat/completions"}'
refused "private: an allowed address outside allowed_private_cidrs" \
    private 403 Forbidden "$(connect "[::1]:$RLO" "$C")"
refused "ports: outside the range, with credentials" port 403 Forbidden \
    "$(connect "localhost:$((RHI + 1))" "$C")"
check_counts "allow"

# --- A reload changes the lists for new connections.
sed -i 's/^  deny: \[no\.allow\.invalid\]$/  deny: [no.allow.invalid, localhost]/' \
    "$T/allow.yaml"
kill -HUP "$DAEMON_PID"
for i in $(seq 1 50); do
	grep -q 'reloaded:' "$LOG" && break
	sleep 0.1
done
check "reload: the new lists are taken" grep -q 'reloaded:' "$LOG"
refused "reload: a name denied since is refused" policy 403 "$BODY" \
    "$(connect "localhost:$RLO" "$C")"
out=$(curl -sS --max-time 10 -p -x "http://$C@$P" "http://127.0.0.1:$RLO/b4")
check_eq "reload: an address still allowed still works" "$out" "origin /b4"
check_counts "reload"

# --- Full lists: 1024 patterns each reach every worker.
stop_daemon
{
	echo "tunnel:"
	echo "$PORTS"
	echo "  allowed_private_cidrs: [127.0.0.1/32]"
	echo "  allow:"
	for i in $(seq 1 1023); do echo "    - \"*.a$i.invalid\""; done
	echo "    - localhost"
	echo "  deny:"
	for i in $(seq 1 1023); do echo "    - d$i.invalid"; done
	echo "    - last.a7.invalid"
} > "$T/full.tail"
proxy_config "$T/full.yaml" "$PORT" "http://127.0.0.1:$BPORT" \
    "$(cat "$T/full.tail")"
two_workers "$T/full.yaml"
start_daemon "$T/full.yaml" || { nok "daemon starts (full lists)"; exit 0; }
out=$(curl -sS --max-time 10 -p -x "http://$P" "http://localhost:$RLO/c1")
check_eq "full lists: the last allow pattern lets a host in" "$out" \
    "origin /c1"
check_log "full lists: the last deny pattern refuses a host" \
    pc raw --proxy "$P" --send "$(connect last.a7.invalid:443)" \
    --expect-status 403 --expect-body "$BODY" --expect-closed
passes "full lists: a host under an allowed domain goes" other.a1023.invalid:443
echo "    - one.too.many" >> "$T/full.yaml"
check "full lists: a 1025th pattern is refused by -n" \
    sh -c "'$AIBPROXYD' -n -f '$T/full.yaml' 2>&1 | grep -q 'tunnel.deny: too many patterns (at most 1024)'"
