# Issue 13: the suite never leaves the machine.  run.sh starts it in a
# network namespace with only loopback, and a resolv.conf that names
# 127.0.0.1 alone; this checks that from inside, then sends the daemon
# to a non-loopback address and an unresolvable name: both must fail
# at once, here.  Run outside run.sh, these checks fail: they are the
# proof, not an assumption.
. "$(dirname "$0")/lib.sh"

# Milliseconds since the epoch.
now_ms() {
	date +%s%3N
}

# connect_errno HOST PORT: the errno name a TCP connect ends with, or
# "connected".
connect_errno() {
	python3 - "$1" "$2" <<'PY'
import errno, socket, sys
host, port = sys.argv[1], int(sys.argv[2])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.settimeout(5)
try:
    s.connect((host, port))
    print("connected")
except OSError as e:
    print(errno.errorcode.get(e.errno, "timeout") if e.errno else "timeout")
PY
}

links=$(ip -o link show | awk -F': ' '{ print $2 }' | sed 's/@.*//' |
    tr '\n' ' ')
check_eq "the only interface is lo" "$links" "lo "
check "lo is up" sh -c 'ip -o link show lo | grep -q "[<,]UP[,>]"'
routes=$( { ip -4 -o route show table all; ip -6 -o route show table all; } )
echo "$routes" | sed 's/^/#   route: /'
check_eq "no route through anything but lo" \
    "$(echo "$routes" | grep -cv ' dev lo ')" 0
check_eq "no default route" "$(echo "$routes" | grep -c '^default')" 0
check_eq "no route that is not local or loopback" \
    "$(echo "$routes" | grep -vcE '^(local|broadcast) |^(::1|fe80::/64|multicast ff00::/8) ')" 0
if [ -e /etc/resolv.conf ]; then
	check_eq "resolv.conf names 127.0.0.1 alone" \
	    "$(awk '$1 == "nameserver" { print $2 }' /etc/resolv.conf)" \
	    127.0.0.1
else
	ok "no resolv.conf: the resolver asks 127.0.0.1 alone"
fi
check_eq "a TEST-NET IPv4 address is unreachable" \
    "$(connect_errno 192.0.2.1 443)" ENETUNREACH
check_eq "a documentation IPv6 address is unreachable" \
    "$(connect_errno 2001:db8::1 443)" ENETUNREACH
t0=$(now_ms)
check "an unresolvable name does not resolve" \
    sh -c '! getent ahosts nosuchhost.invalid >/dev/null'
check "... and fails in under 2 s" test $(($(now_ms) - t0)) -lt 2000

# The daemon: the documentation range allowed, so only the missing
# route can stop it.
proxy_setup
ORIGIN=$(free_port)
start_bridge "$BPORT" "$BLOG" || { nok "bridge starts"; exit 0; }
start_origin "$ORIGIN" http || { nok "origin starts"; exit 0; }
proxy_config "$T/netns.yaml" "$PORT" "http://127.0.0.1:$BPORT" "tunnel:
  ports: [443, $ORIGIN]
  allowed_private_cidrs: [127.0.0.1/32, 192.0.2.0/24, '2001:db8::/32']"
start_daemon "$T/netns.yaml" || { nok "daemon starts"; exit 0; }
out=$(curl -sS --max-time 10 -p -x "http://$P" \
    "http://127.0.0.1:$ORIGIN/here")
check_eq "a tunnel on loopback works" "$out" "origin /here"
for dest in 192.0.2.1:443 '[2001:db8::1]:443' nosuchhost.invalid:443; do
	t0=$(now_ms)
	check_log "CONNECT $dest gets 502 Bad Gateway" \
	    pc raw --proxy "$P" \
	    --send "CONNECT $dest HTTP/1.1\r\nHost: $dest\r\n\r\n" \
	    --expect-status 502 --expect-body "Bad Gateway" --expect-closed
	check "... in under 2 s" test $(($(now_ms) - t0)) -lt 2000
done
check_log "the daemon tried 192.0.2.1 and its connect failed" \
    grep -qE '192\.0\.2\.1:443.*(connect failed|cannot connect|unreachable)' \
    "$LOG"
check_log "the name was asked of the resolver, which failed" \
    grep -qE 'cannot resolve nosuchhost\.invalid|nosuchhost\.invalid:443: unresolvable' \
    "$LOG"
