# Issue 11: on Linux each worker accepts from a listening socket of its
# own (SO_REUSEPORT) and the kernel spreads new connections over them;
# the parent keeps the sockets, so a respawned worker gets its own back
# and serves the clients that queued for the dead one.  A reload keeps
# the sockets of the addresses it keeps, and makes or closes the others.
# The metrics listener, served by worker 0 alone, stays one socket.
. "$(dirname "$0")/lib.sh"

make_ca "$T/ca" rsa
PORT=$(free_port)
PORT2=$(free_port)
BPORT=$(free_port)
MPORT=$(free_port)
write_config "$T/c.yaml" "$PORT" "$BPORT" \
    "metrics: { listen: 127.0.0.1:$MPORT }" "log: { level: debug }" \
    "timeouts: { header: 60s }"
sed -i 's/^workers: 2$/workers: 3/' "$T/c.yaml"
start_daemon "$T/c.yaml" || { nok "daemon starts"; exit 0; }

# listeners PORT: the inodes of the sockets listening on PORT.
listeners() {
	ss -Hltne "sport = :$1" | sed -n 's/.* ino:\([0-9]*\) .*/\1/p' | sort
}
# held PID PORT: those that process PID holds.
held() {
	ls -l "/proc/$1/fd" | sed -n 's/.*socket:\[\([0-9]*\)\]$/\1/p' |
	    sort | comm -12 - <(listeners "$2") | tr '\n' ' '
}
# each PORT: how many of them each worker holds; then all that the
# workers hold, and all that the parent holds.
each() {
	local i h mine=
	for i in 0 1 2; do
		h=$(held "$(child_pids "proxy $i")" "$1")
		printf '%s ' $(echo $h | wc -w)
		mine="$mine $h"
	done
	printf '| %s| %s\n' "$(printf '%s\n' $mine | sort | tr '\n' ' ')" \
	    "$(held "$DAEMON_PID" "$1")"
}
all=$(listeners "$PORT" | tr '\n' ' ')
check_eq "three sockets listen on the proxy's address, one per worker" \
    "$(echo $all | wc -w)" 3
check_eq "each worker holds one of its own, the parent all three" \
    "$(each "$PORT")" "1 1 1 | $all| $all"
check_eq "one socket listens for the metrics" \
    "$(listeners "$MPORT" | wc -l)" 1

# Short connections reach every worker: with an even spread the chance
# that one of 3 workers gets none of 64 is 3 x (2/3)^64, 2e-11.
n0=$(wc -l < "$LOG")
for i in $(seq 1 64); do
	curl -s -o /dev/null -m 5 "http://127.0.0.1:$PORT/healthz"
done
answered() {
	tail -n +"$((n0 + 1))" "$LOG" |
	    grep -E "proxy [0-9]+: conn [0-9]+ 127\.0\.0\.1:[0-9]+: closed: answered"
}
for i in $(seq 1 40); do
	[ "$(answered | wc -l)" -ge 64 ] && break
	sleep 0.05
done
check_eq "64 connections answered" "$(answered | wc -l)" 64
check_eq "by all three workers" \
    "$(answered | sed -E 's/.*(proxy [0-9]+):.*/\1/' | sort -u | tr '\n' ' ')" \
    "proxy 0 proxy 1 proxy 2 "

# Worker 1 stopped: connections queue on its socket, each with its
# request sent; then it is killed.  Its replacement gets the same
# socket and answers them: none is reset.
old1=$(child_pids "proxy 1")
sock1=$(held "$old1" "$PORT")
kill -STOP "$old1"
python3 - "$PORT" $sock1 "$T/go" > "$T/queued.out" 2>&1 <<'PY' &
import os, socket, subprocess, sys, time
port, inode, go = int(sys.argv[1]), sys.argv[2], sys.argv[3]

def queued():
    out = subprocess.run(["ss", "-Hltne", "sport = :%d" % port],
        capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "ino:%s " % inode in line:
            return int(line.split()[1])
    return 0

conns = []
while queued() < 1 and len(conns) < 200:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
    conns.append(s)
    time.sleep(0.01)
print("ready", len(conns), queued(), flush=True)
while not os.path.exists(go):
    time.sleep(0.05)
ok = 0
for s in conns:
    data = b""
    try:
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
    except OSError as e:
        print("error", e, flush=True)
    ok += data.startswith(b"HTTP/1.1 200 ")
print("answered", ok, "of", len(conns), flush=True)
PY
QPID=$!
wait_ready "$T/queued.out"
read -r _ nconns nqueued < "$T/queued.out"
echo "# $nconns connections, $nqueued queued for the stopped worker 1"
check "a connection queued for the stopped worker" test "$nqueued" -ge 1
n0=$(wc -l < "$LOG")
kill -KILL "$old1"
new1=
for i in $(seq 1 100); do
	new1=$(child_pids "proxy 1")
	[ -n "$new1" ] && [ "$new1" != "$old1" ] &&
	    grep -q "proxy 1 restarted" "$LOG" && break
	new1=
	sleep 0.05
done
check "worker 1 is replaced" test -n "$new1"
touch "$T/go"
wait "$QPID"
check_eq "every connection is answered, the queued ones too" \
    "$(tail -n 1 "$T/queued.out")" "answered $nconns of $nconns"
check "the new worker 1 answered the queued ones" grep -qE \
    "^aibproxyd\[$new1\]: proxy 1: conn [0-9]+ .*: closed: answered" "$LOG"
check_eq "it holds the socket the old one had" "$(held "$new1" "$PORT")" \
    "$sock1"
code=$(curl -s -o /dev/null -w '%{http_code}' -m 5 \
    --local-port "$(worker_port "$new1")" "http://127.0.0.1:$PORT/healthz")
check_eq "and serves" "$code" 200

# A reload with a second address: a new group for it, the first kept.
sed -i "s/^  - address: 127.0.0.1:$PORT\$/&\n  - address: 127.0.0.1:$PORT2/" \
    "$T/c.yaml"
check "a reload adds 127.0.0.1:$PORT2" reload_daemon
check_eq "the sockets of the address kept are kept" \
    "$(listeners "$PORT" | tr '\n' ' ')" "$all"
all2=$(listeners "$PORT2" | tr '\n' ' ')
check_eq "the new address has one socket per worker" \
    "$(each "$PORT2")" "1 1 1 | $all2| $all2"
# A client still sending its head holds the configuration it came
# under in its worker, as every session does (for timeouts.header, 60 s
# here); the sockets must close all the same, not when it leaves.
exec 7<>"/dev/tcp/127.0.0.1/$PORT2"
printf 'GET /healthz HTTP/1.1\r\n' >&7
held_by_worker() {
	ss -Htnp state established "sport = :$1" | grep -c '"aibproxyd"'
}
check_settles "a client on it is accepted, its head not yet whole" 1 \
    held_by_worker "$PORT2"
sed -i "/^  - address: 127.0.0.1:$PORT2\$/d" "$T/c.yaml"
check "a reload removes it" reload_daemon
nlisteners() { listeners "$1" | wc -l; }
check_settles "its sockets are closed, the client still there" 0 \
    nlisteners "$PORT2"
check "a new client of it is refused" \
    bash -c "! exec 3<>/dev/tcp/127.0.0.1/$PORT2" 2>/dev/null
check_eq "the others are kept" "$(listeners "$PORT" | tr '\n' ' ')" "$all"
sed -i "s/^  - address: 127.0.0.1:$PORT\$/&\n  - address: 127.0.0.1:$PORT2/" \
    "$T/c.yaml"
check "a reload adds it back, the client still there" reload_daemon
check_eq "with one socket per worker" "$(nlisteners "$PORT2")" 3
check_eq "the client is still there" "$(held_by_worker "$PORT2")" 1
exec 7<&-
