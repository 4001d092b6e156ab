# Issue 13: localhost on ::1 first, as Debian's /etc/hosts has it.  In a
# private mount namespace a hosts file of our own is bound over
# /etc/hosts (the resolver process reads it through getaddrinfo), and a
# tunnel to localhost must use the address the policy allows, skipping
# the one it refuses, and get 403 only when both are refused.  Two
# origins share a port, one on each loopback, so the log of each says
# which address the daemon connected to.
#
# Only the direct tunnel path is tested: through an upstream, which
# resolves the name again, the dialer refuses a name when any of its
# addresses is refused.
if [ -z "${AIB_HOSTS_NS:-}" ]; then
	AIB_HOSTS_NS=1 exec unshare --mount --propagation private \
	    bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
proxy_setup

printf '::1\tlocalhost ip6-localhost ip6-loopback\n127.0.0.1\tlocalhost\n' \
    > "$T/hosts"
chmod 0644 "$T/hosts"
if ! mount --bind "$T/hosts" /etc/hosts; then
	nok "our hosts file is bound over /etc/hosts"
	exit 0
fi
first=$(getent ahosts localhost | awk 'NR == 1 { print $1 }')
check_eq "localhost resolves to ::1 first" "$first" ::1
check "... and to 127.0.0.1 as well" \
    sh -c 'getent ahosts localhost | grep -q "^127\.0\.0\.1 "'

ORIGIN=$(free_port)
start_bridge "$BPORT" "$BLOG" || { nok "bridge starts"; exit 0; }
start_origin "$ORIGIN" http "$T/origin4.log" || { nok "origin starts"; exit 0; }
bg_start "$T/origin6.log.out" python3 "$(doubles)/origin.py" \
    --port "$ORIGIN" --mode http --log "$T/origin6.log" --host ::1
wait_ready "$T/origin6.log.out" || { nok "origin on ::1 starts"; exit 0; }
n4() { blog "$T/origin4.log" count; }
n6() { blog "$T/origin6.log" count; }

# hosts_config FILE CIDRS: tunnels to the origin's port, CIDRS allowed.
hosts_config() {
	proxy_config "$1" "$PORT" "http://127.0.0.1:$BPORT" "tunnel:
  ports: [443, $ORIGIN]
  allowed_private_cidrs: $2"
}
# tunnel_get PATH: "status body" of a GET through CONNECT localhost.
tunnel_get() {
	curl -sS --max-time 10 -p -x "http://$P" -w ' %{http_connect}' \
	    "http://localhost:$ORIGIN$1" 2>/dev/null
}

# 127.0.0.0/8 allowed: ::1 is refused, 127.0.0.1 is used.
hosts_config "$T/v4.yaml" "[127.0.0.0/8]"
start_daemon "$T/v4.yaml" || { nok "daemon starts (127.0.0.0/8)"; exit 0; }
check_eq "CONNECT localhost with 127.0.0.0/8 allowed is answered" \
    "$(tunnel_get /v4)" "origin /v4 200"
check_eq "... by the origin on 127.0.0.1" "$(n4) $(blog "$T/origin4.log" get -1 path)" \
    "1 /v4"
check_eq "... and nothing connected to ::1" "$(n6)" 0
check_eq "... the daemon refused ::1 by the policy, and said so once" \
    "$(log_count "blocking localhost:$ORIGIN \(::1\): destination is in ::1/128")" 1
check_log "... and logged the tunnel to localhost" \
    grep -qE "tunnel 127\.0\.0\.1:[0-9]+ -> localhost:$ORIGIN: closed" "$LOG"

# ::1/128 allowed: the first address, ::1, is used.
stop_daemon
hosts_config "$T/v6.yaml" "['::1/128']"
start_daemon "$T/v6.yaml" || { nok "daemon starts (::1/128)"; exit 0; }
check_eq "CONNECT localhost with ::1/128 allowed is answered" \
    "$(tunnel_get /v6)" "origin /v6 200"
check_eq "... by the origin on ::1" "$(n6) $(n4)" "1 1"

# Neither allowed: 403, and neither origin hears anything.
stop_daemon
hosts_config "$T/none.yaml" "[10.0.0.0/8]"
start_daemon "$T/none.yaml" || { nok "daemon starts (10.0.0.0/8)"; exit 0; }
check_log "CONNECT localhost with neither loopback allowed gets 403" \
    pc raw --proxy "$P" \
    --send "CONNECT localhost:$ORIGIN HTTP/1.1\r\nHost: localhost:$ORIGIN\r\n\r\n" \
    --expect-status 403 --expect-body Forbidden --expect-closed
check_eq "... and neither origin heard anything" "$(n6) $(n4)" "1 1"
check_eq "... the daemon named ::1 as refused, once" \
    "$(log_count "blocking localhost:$ORIGIN \(::1\): destination is in ::1/128")" 1
check_eq "... and 127.0.0.1, once" \
    "$(log_count "blocking localhost:$ORIGIN \(127\.0\.0\.1\): destination is in 127\.0\.0\.0/8")" 1
