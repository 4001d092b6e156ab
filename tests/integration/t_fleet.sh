# Issue 10, a tested fleet recipe: HAProxy in TCP mode, configured from
# etc/haproxy/aibproxyd.cfg, in front of two aibproxyd instances, its
# health checks on /readyz.  Under steady load (intercepted POSTs on
# keep-alive connections, and tunnels) both instances are restarted in
# turn: SIGTERM, /readyz 503 and HAProxy taking the instance out during
# timeouts.drain_delay, exit, start again, HAProxy taking it back.  No
# request may fail (the clients retry nothing), and the audit lines name
# the clients' own address, which the PROXY protocol carries.
. "$(dirname "$0")/lib.sh"
proxy_setup

# The PROXY protocol between HAProxy and the instances: send-proxy-v2
# check-send-proxy on the servers, proxy_protocol on the listeners.
PROXY_PROTOCOL=1
SRC=127.0.0.7		# the clients' address; HAProxy's is 127.0.0.1
HERE=$(cd "$(dirname "$0")" && pwd)
EXAMPLE=$HERE/../../etc/haproxy/aibproxyd.cfg

command -v haproxy >/dev/null || { nok "haproxy is installed (DEBIAN_PKGS)"; exit 0; }

OPORT=$(free_port)	# the tunnels' origin
HPORT=$(free_port)	# HAProxy
PORT_a=$(free_port)
PORT_b=$(free_port)
LOGS=
RUNS=0
PID_a=
PID_b=

fleet_cleanup() {
	local n pid
	touch "$T/stop"
	for n in a b; do
		eval "pid=\$PID_$n"
		[ -n "$pid" ] || continue
		# Twice: at once, whatever the drain.
		kill -TERM "$pid" 2>/dev/null
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	bg_stop_all
	for LOG in $LOGS; do
		sanitizer_scan
		sandbox_scan
	done
	LOG=$T/daemon.log
	cleanup
}
trap fleet_cleanup EXIT

start_bridge "$BPORT" "$BLOG" || { nok "bridge starts"; exit 0; }
start_origin "$OPORT" eof || { nok "origin starts"; exit 0; }

# inst_conf NAME: an instance behind HAProxy.
inst_conf() {
	local port
	eval "port=\$PORT_$1"
	write_config "$T/$1.yaml" "$port" "$BPORT" \
	    "tunnel: { ports: [443, $OPORT], allowed_private_cidrs: [127.0.0.1/32] }" \
	    "timeouts: { drain_delay: 2s, shutdown: 10s }"
	[ "$PROXY_PROTOCOL" = 1 ] && sed -i "s|^  - address: 127.0.0.1:$port\$|&\\
    proxy_protocol: true\\
    proxy_from: [127.0.0.1/32]|" "$T/$1.yaml"
	return 0
}

# inst_start NAME: the instance in the foreground, a new log each time.
inst_start() {
	local log
	RUNS=$((RUNS + 1))
	log=$T/$1.$RUNS.log
	LOGS="$LOGS $log"
	"$AIBPROXYD" -d -f "$T/$1.yaml" > "$log" 2>&1 &
	eval "PID_$1=\$!"
	wait_started "$log" $!
}

# readyz NAME: the status of the instance's /readyz, asked directly
# (with a PROXY header when the listener wants one).
readyz() {
	local port pp=
	eval "port=\$PORT_$1"
	[ "$PROXY_PROTOCOL" = 1 ] && pp=--haproxy-protocol
	curl -sS -m 5 $pp -o /dev/null -w '%{http_code}' \
	    "http://127.0.0.1:$port/readyz" 2>/dev/null
}

# ha_state NAME: how HAProxy sees the server: "status check_status
# check_code" (show stat on its admin socket, management.txt 9.1).
ha_state() {
	python3 - "$T/haproxy.sock" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b"show stat\n")
data = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    data += b
cols = None
for line in data.decode().splitlines():
    if line.startswith("# "):
        cols = line[2:].split(",")
        continue
    f = line.split(",")
    if cols and f[0] == "aibproxyd" and f[1] == sys.argv[2]:
        r = dict(zip(cols, f))
        print(r["status"], r["check_status"], r["check_code"] or "-")
PY
}

# ha_wait NAME STATUS: until HAProxy says so (10 s at most).
ha_wait() {
	local i
	for i in $(seq 1 200); do
		set -- "$1" "$2" "$(ha_state "$1")"
		[ "${3%% *}" = "$2" ] && return 0
		sleep 0.05
	done
	echo "# HAProxy: server $1 is \"$3\", want $2"
	return 1
}

# audits FILE...: the audit lines in them.
audits() {
	cat "$@" | grep -c ': request [0-9a-f-]* client '
}

# --- HAProxy, from the example with this test's addresses.
sed -e "s|^	log /dev/log local0\$|	log stdout format raw local0\\
	stats socket $T/haproxy.sock mode 600 level admin|" \
    -e "s|^	bind :8888\$|	bind 127.0.0.1:$HPORT|" \
    -e "s|^	maxconn 20000\$|	maxconn 1000|" \
    -e "s|inter 2s fall 2 rise 2|inter 200ms fall 1 rise 1|" \
    -e "s|^	server aibproxyd1 .*|	server a 127.0.0.1:$PORT_a|" \
    -e "s|^	server aibproxyd2 .*|	server b 127.0.0.1:$PORT_b|" \
    "$EXAMPLE" > "$T/haproxy.cfg"
[ "$PROXY_PROTOCOL" = 1 ] || sed -i 's/ send-proxy-v2 check-send-proxy$//' \
    "$T/haproxy.cfg"
check "the example's lines this test replaces are all there" test \
    "$(grep -cE "stats socket|maxconn 1000|bind 127.0.0.1:$HPORT\$|inter 200ms fall 1 rise 1|server [ab] 127" \
    "$T/haproxy.cfg")" = 6
check "it is a valid HAProxy configuration" \
    haproxy -q -c -f "$T/haproxy.cfg"

inst_conf a
inst_conf b
inst_start a || { nok "instance a starts"; exit 0; }
inst_start b || { nok "instance b starts"; exit 0; }
bg_start "$T/haproxy.out" haproxy -db -f "$T/haproxy.cfg"
HAPROXY=$LAST_PID
for i in $(seq 1 100); do
	[ -S "$T/haproxy.sock" ] && break
	kill -0 "$HAPROXY" 2>/dev/null || break
	sleep 0.05
done
if ! [ -S "$T/haproxy.sock" ] || ! kill -0 "$HAPROXY" 2>/dev/null; then
	nok "HAProxy starts"
	sed 's/^/#   /' "$T/haproxy.out"
	exit 0
fi
check "HAProxy sees instance a up" ha_wait a UP
check "HAProxy sees instance b up" ha_wait b UP

# --- Steady load through HAProxy.
bg_start "$T/load.out" python3 "$(doubles)/fleetload.py" \
    --proxy "127.0.0.1:$HPORT" --source "$SRC" --token "$TOKEN" \
    --cafile "$CA" --origin "127.0.0.1:$OPORT" --stop "$T/stop" \
    --mitm 3 --tunnels 2
LOAD=$LAST_PID
check "the load runs: every client thread succeeded once" wait_ready "$T/load.out"

# --- The rolling restart, one instance after the other.
roll() {
	local n=$1 pid st i rc logs0
	eval "pid=\$PID_$n"
	kill -TERM "$pid"
	st=
	for i in $(seq 1 40); do
		st=$(readyz "$n")
		[ "$st" = 503 ] && break
		sleep 0.025
	done
	check_eq "$n: after SIGTERM its /readyz answers 503" "$st" 503
	check "$n: HAProxy takes it out" ha_wait "$n" DOWN
	# While a check runs, HAProxy shows its status as "* L7STS" with
	# code 0: read the state once that check has finished.
	for i in $(seq 1 40); do
		st=$(ha_state "$n")
		case "$st" in *" * "*) sleep 0.025 ;; *) break ;; esac
	done
	check_eq "$n: because its check got 503 (HAProxy: $st)" \
	    "${st#* }" "L7STS 503"
	check "$n: it was still running then (drain_delay)" kill -0 "$pid"
	for i in $(seq 1 400); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	wait "$pid"; rc=$?
	eval "PID_$n="
	check_eq "$n: then it drained and exited 0" "$rc" 0
	inst_start "$n" || { nok "$n starts again"; return 1; }
	check "$n: HAProxy takes it back" ha_wait "$n" UP
	# New connections reach it before the other one stops.
	for i in $(seq 1 200); do
		[ "$(audits "$T/$n.$RUNS.log")" -gt 0 ] && break
		sleep 0.05
	done
	check "$n: it serves again" test "$(audits "$T/$n.$RUNS.log")" -gt 0
}
roll a
roll b

touch "$T/stop"
wait "$LOAD"; rc=$?
BG_PIDS=$(echo "$BG_PIDS" | sed "s/ $LOAD\b//")
sed -n 's/^/# load: /p' "$T/load.out" | grep -v '^# load: ready$' | head -20
check_eq "no request failed across the rolling restart" "$rc" 0
mitm_ok=$(sed -n 's/^mitm ok \([0-9]*\) fail 0 .*/\1/p' "$T/load.out")
tun_ok=$(sed -n 's/^tunnel ok \([0-9]*\) fail 0$/\1/p' "$T/load.out")
check "intercepted POSTs were served ($mitm_ok)" test "${mitm_ok:-0}" -gt 0
check "tunnels were served ($tun_ok)" test "${tun_ok:-0}" -gt 0
closed=$(sed -n 's/^mitm ok .* closed-by-proxy \([0-9]*\)$/\1/p' "$T/load.out")
check "keep-alive clients were moved on by Connection: close while an instance was stopping ($closed)" \
    test "${closed:-0}" -gt 0

# Every instance writes its audit lines before it exits.
for n in a b; do
	eval "pid=\$PID_$n"
	kill -TERM "$pid"
	wait "$pid"
	eval "PID_$n="
done
n=$(audits $LOGS)
check_eq "one audit line per intercepted request, over all instances" \
    "$n" "$mitm_ok"
if [ "$PROXY_PROTOCOL" = 1 ]; then
	check_eq "every audit line names the client's address ($SRC)" \
	    "$(cat $LOGS | grep -c ": request [0-9a-f-]* client $SRC:")" "$n"
else
	echo "# PROXY protocol off: audit lines carry HAProxy's address"
	check_eq "every audit line names HAProxy's address" \
	    "$(cat $LOGS | grep -c ': request [0-9a-f-]* client 127.0.0.1:')" "$n"
fi
check "HAProxy logged each instance down on a 503 from /readyz" \
    test "$(grep -c 'is DOWN, reason: Layer7 wrong status, code: 503' \
    "$T/haproxy.out")" -ge 2
