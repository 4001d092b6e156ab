# Issue 11: on Linux every listening socket the workers accept from,
# the metrics listener's included, defers the accept until the client
# has spoken (TCP_DEFER_ACCEPT, aibproxyd.8).  Seen from outside: the
# option on the sockets a worker holds; a client that speaks is served;
# one that connects and stays silent is still handed over and closed by
# timeouts.header; a TCP check that connects and closes is closed
# without an error line.
. "$(dirname "$0")/lib.sh"

if [ "$(uname)" != Linux ]; then
	ok "# SKIP TCP_DEFER_ACCEPT is Linux only"
	exit 0
fi
make_ca "$T/ca" rsa
PORT=$(free_port)
BPORT=$(free_port)
MPORT=$(free_port)
write_config "$T/c.yaml" "$PORT" "$BPORT" \
    "metrics: { listen: 127.0.0.1:$MPORT }" "log: { level: debug }" \
    "timeouts: { header: 1s }"
start_daemon "$T/c.yaml" || { nok "daemon starts"; exit 0; }

# deferred PID PORT: TCP_DEFER_ACCEPT of each socket listening on PORT
# that process PID holds, read from a copy of it (pidfd_getfd(2)).
deferred() {
	python3 - "$1" "$2" <<'PY'
import ctypes, os, socket, subprocess, sys
pid, port = int(sys.argv[1]), sys.argv[2]
ss = subprocess.run(["ss", "-Hltne", "sport = :" + port],
                    stdout=subprocess.PIPE, text=True).stdout
inodes = {w[4:] for l in ss.splitlines() for w in l.split()
          if w.startswith("ino:")}
libc = ctypes.CDLL(None, use_errno=True)
pidfd = os.pidfd_open(pid)
out = []
for fd in sorted(os.listdir("/proc/%d/fd" % pid), key=int):
    try:
        link = os.readlink("/proc/%d/fd/%s" % (pid, fd))
    except OSError:
        continue
    if link.startswith("socket:[") and link[8:-1] in inodes:
        n = libc.syscall(438, pidfd, int(fd), 0)	# pidfd_getfd
        if n < 0:
            sys.exit("pidfd_getfd: " + os.strerror(ctypes.get_errno()))
        s = socket.socket(fileno=n)
        out.append(str(s.getsockopt(socket.IPPROTO_TCP,
                                    socket.TCP_DEFER_ACCEPT)))
        s.detach()
        os.close(n)
print(" ".join(out))
PY
}
w0=$(child_pids "proxy 0")
w1=$(child_pids "proxy 1")
check_eq "worker 0's listening socket defers the accept (1 s)" \
    "$(deferred "$w0" "$PORT")" 1
check_eq "worker 1's too" "$(deferred "$w1" "$PORT")" 1
check_eq "and the metrics listener, which worker 0 serves" \
    "$(deferred "$w0" "$MPORT")" 1

out=$(curl -sS --max-time 5 "http://127.0.0.1:$PORT/healthz")
check_eq "a client that speaks at once is served" "$out" OK
out=$(curl -sS --max-time 5 "http://127.0.0.1:$MPORT/metrics" |
    grep -c '^aibproxyd_')
check "a scrape is served" test "$out" -gt 0

# Held by the kernel for about a second, then handed over without a
# byte: timeouts.header closes it as it closes any silent client.
check "a client that connects and sends nothing is closed" \
    pc raw --proxy "127.0.0.1:$PORT" --timeout 15 --expect-closed
check "... by timeouts.header, after the accept" \
    wait_log "closed: no request in time"

# A balancer's TCP check: connect, close.  Its FIN hands it over; the
# worker reads the end and closes, with no warning.
n0=$(wc -l < "$LOG")
python3 -c 'import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.close()' "$PORT"
check "a connect-and-close check is closed as a client that left" \
    wait_log "closed: client closed" "$n0"
check_eq "... and logs no warning" \
    "$(tail -n +"$((n0 + 1))" "$LOG" | grep -vc 'debug\|closed: ')" 0

stop_daemon
