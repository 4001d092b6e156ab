# Issue 8: a worker or the resolver that dies is replaced while the
# daemon keeps serving; one that keeps dying stops the daemon.
#
# Under a load of intercepted POSTs, each on a new connection, a worker
# is killed with SIGKILL.  Only the connections that worker had accepted
# may fail: so no request that started after the kill (plus 0.1 s for
# the signal to land) may fail, no more may fail than were in flight,
# and none of the failed ones may have been served by the other worker
# (its audit lines name the client port of each request it answered).
#
# Each worker accepts from its own listening socket, which the parent
# keeps: the clients queued for the killed worker wait for the new one.
# Where a check needs a given worker to serve, the client binds a local
# port that reaches it (worker_port in lib.sh).
. "$(dirname "$0")/lib.sh"
proxy_setup
OHTTP=$(free_port)
OLOG=$T/origin.log
THREADS=4

start_bridge "$BPORT" "$BLOG" || { nok "bridge starts"; exit 0; }
start_origin "$OHTTP" http "$OLOG" || { nok "origin starts"; exit 0; }
write_config "$T/r.yaml" "$PORT" "$BPORT" \
    "tunnel: { ports: [443, $OHTTP], allowed_private_cidrs: [127.0.0.0/8] }"
start_daemon "$T/r.yaml" || { nok "daemon starts"; exit 0; }

# Each thread: CONNECT, TLS, POST, read the answer, close; again until
# the time is up.  One line per request: ok|fail start end port why.
cat > "$T/load.py" <<'PY'
import base64, socket, ssl, sys, threading, time
host, port = sys.argv[1].rsplit(":", 1)
token, cafile, secs, nthreads = sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
auth = base64.b64encode(("coder:" + token).encode()).decode()
ctx = ssl.create_default_context(cafile=cafile)
lock = threading.Lock()
end = time.time() + secs

def head(s, buf=b""):
    while b"\r\n\r\n" not in buf:
        b = s.recv(65536)
        if not b:
            raise EOFError("closed before the head ended")
        buf += b
    h, _, rest = buf.partition(b"\r\n\r\n")
    return h.decode("latin-1"), rest

def one():
    lport, t0 = 0, time.time()
    try:
        s = socket.create_connection((host, int(port)), timeout=5)
        lport = s.getsockname()[1]
        s.sendall(("CONNECT api.anthropic.com:443 HTTP/1.1\r\n"
            "Host: api.anthropic.com:443\r\nProxy-Authorization: Basic "
            + auth + "\r\n\r\n").encode())
        h, _ = head(s)
        if " 200 " not in h.split("\r\n")[0] + " ":
            raise ValueError("CONNECT: " + h.split("\r\n")[0])
        t = ctx.wrap_socket(s, server_hostname="api.anthropic.com")
        t.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\n"
            b"Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
        h, body = head(t)
        n = 0
        for line in h.split("\r\n")[1:]:
            k, _, v = line.partition(":")
            if k.strip().lower() == "content-length":
                n = int(v)
        while len(body) < n:
            b = t.recv(65536)
            if not b:
                raise EOFError("closed mid-body")
            body += b
        if h.split(" ")[1] != "200":
            raise ValueError("status " + h.split("\r\n")[0])
        t.close()
        r = "ok - -"
    except Exception as e:
        r = "fail - " + type(e).__name__ + ":" + str(e).replace(" ", "_")
    with lock:
        print("%s %.3f %.3f %d" % (r.split()[0], t0, time.time(), lport),
              r.split(None, 2)[2], flush=True)

def loop():
    while time.time() < end:
        one()

ts = [threading.Thread(target=loop) for _ in range(nthreads)]
for x in ts: x.start()
for x in ts: x.join()
PY

now() { date +%s.%N; }
# A process that runs as the workers' user in their chroot.
worker_like() {
	test "$(proc_users "$1")" = "_aibproxyd _aibproxyd _aibproxyd _aibproxyd" &&
	    test "$(readlink "/proc/$1/root")" = /var/empty
}
# The pid of "aibproxyd: proxy N".
proxy_pid() {
	local pid
	for pid in $(pgrep -P "$DAEMON_PID"); do
		tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null |
		    grep -q "^aibproxyd: proxy $1 " && echo "$pid"
	done
}

# --- Kill worker 0 under load.
old0=$(proxy_pid 0)
old1=$(proxy_pid 1)
python3 "$T/load.py" "$P" "$TOKEN" "$CA" 4 "$THREADS" > "$T/load.out" 2>&1 &
LOADPID=$!
sleep 1.5
kill_at=$(now)
kill -KILL "$old0"
new0=
for i in $(seq 1 40); do
	new0=$(proxy_pid 0)
	[ -n "$new0" ] && [ "$new0" != "$old0" ] && break
	new0=
	sleep 0.05
done
# A request of our own to the new worker 0: the load's threads may all
# be waiting on worker 1 and send nothing new meanwhile.
served=
if [ -n "$new0" ] && lport=$(worker_port "$new0"); then
	curl -s -o /dev/null --max-time 2 --proxy-user "coder:$TOKEN" \
	    --local-port "$lport" --cacert "$CA" -x "http://$P" -d '{}' \
	    https://api.anthropic.com/v1/messages
fi
while [ -n "$new0" ] &&
    awk -v t="$(now)" -v k="$kill_at" 'BEGIN { exit !(t < k + 2) }'; do
	grep -q "^aibproxyd\[$new0\]: proxy 0: request .* status 200" "$LOG" &&
	    { served=1; break; }
	sleep 0.05
done
wait "$LOADPID"
check "the daemon stays up" kill -0 "$DAEMON_PID"
check "a new worker 0 is started (new pid)" test -n "$new0"
check "worker 1 is untouched" test "$(proxy_pid 1)" = "$old1"
check "the new worker runs as _aibproxyd in /var/empty" worker_like "$new0"
check "the new worker serves within 2 s of the kill" test -n "$served"
check "the parent names the killed worker and the signal" grep -q \
    "parent: aibproxyd: proxy 0 (pid $old0) killed by signal SIGKILL" "$LOG"
check "the parent logs the restart" \
    grep -q "parent: aibproxyd: proxy 0 restarted, pid $new0" "$LOG"

# The load, judged (see the top of this file).
grep "^aibproxyd\[$old1\]: proxy 1: request " "$LOG" |
    sed -n 's/.* client 127\.0\.0\.1:\([0-9]*\) .*/\1/p' > "$T/ports1"
python3 - "$T/load.out" "$kill_at" "$THREADS" "$T/ports1" > "$T/judge" <<'PY'
import sys
out, k, nthreads, ports1 = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
served1 = set(open(ports1).read().split())
rows = [l.split(None, 4) for l in open(out) if l[:2] in ("ok", "fa")]
fails = [r for r in rows if r[0] == "fail"]
late = [r for r in fails if float(r[1]) >= k + 0.1]
on1 = [r for r in fails if r[3] in served1]
after = [r for r in rows if float(r[1]) >= k + 0.1 and r[0] == "ok"]
print("requests", len(rows), "failed", len(fails), "late", len(late),
      "on_worker1", len(on1), "ok_after", len(after))
for r in fails:
    print("# failed: start %+.3f end %+.3f port %s %s" % (float(r[1]) - k,
          float(r[2]) - k, r[3], r[4].strip()))
PY
read -r _ total _ failed _ late _ on1 _ okafter < "$T/judge"
echo "# load: $total requests, $failed failed, $okafter succeeded after the kill"
grep '^# failed' "$T/judge"
check "the load ran (over 40 requests)" test "$total" -gt 40
check "requests keep succeeding after the kill" test "$okafter" -gt 10
check "no request started after the kill fails" test "$late" = 0
check "no more failures than connections in flight ($THREADS)" \
    test "$failed" -le "$THREADS"
check "no request served by the other worker fails" test "$on1" = 0

# --- Kill the resolver: a new one answers the workers' lookups.
oldr=$(child_pids resolver)
kill -KILL "$oldr"
newr=
for i in $(seq 1 40); do
	newr=$(child_pids resolver)
	[ -n "$newr" ] && [ "$newr" != "$oldr" ] && break
	newr=
	sleep 0.05
done
check "a new resolver is started" test -n "$newr"
check "the parent names the resolver and the signal" grep -q \
    "parent: aibproxyd: resolver (pid $oldr) killed by signal SIGKILL" "$LOG"
sleep 0.2
# Twenty at once.
cpids=
for i in $(seq 1 20); do
	curl -s -o /dev/null -w '%{http_code}\n' --max-time 5 \
	    -x "http://$P" "http://localhost:$OHTTP/r$i" >> "$T/codes" &
	cpids="$cpids $!"
done
wait $cpids
check_eq "names resolve through the new resolver (20 forwards)" \
    "$(grep -c '^200$' "$T/codes")" 20
# Then each worker in turn.
for w in "$new0:0" "$old1:1"; do
	n0=$(wc -l < "$LOG")
	code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
	    --local-port "$(worker_port "${w%:*}")" \
	    -x "http://$P" "http://localhost:$OHTTP/w${w#*:}")
	check_eq "proxy ${w#*:} forwards by name" "$code" 200
	check "proxy ${w#*:} used the new resolver" wait_log \
	    "^aibproxyd\[${w%:*}\]: proxy ${w#*:}: forward .* localhost:$OHTTP: closed" \
	    "$n0"
done
check "the daemon stays up after the resolver's death" kill -0 "$DAEMON_PID"
check "no worker died with the resolver" \
    test "$(proxy_pid 0) $(proxy_pid 1)" = "$new0 $old1"

# --- A death and a SIGHUP at once: whichever the parent sees first, the
# reload waits for the replacement or fails for want of the dead
# worker's answer; either way both workers serve, and reloads work.
n0=$(wc -l < "$LOG")
kill -KILL "$(proxy_pid 1)"
kill -HUP "$DAEMON_PID"
for i in $(seq 1 40); do
	tail -n +"$n0" "$LOG" | grep -qE "parent: (reloaded|reload failed)" &&
	    break
	sleep 0.05
done
check "a reload sent with a death settles" sh -c "tail -n +$n0 '$LOG' |
    grep -qE 'parent: (reloaded|reload failed)'"
sleep 0.3
check "both workers are there" test -n "$(proxy_pid 0)" -a -n "$(proxy_pid 1)"
n0=$(wc -l < "$LOG")
kill -HUP "$DAEMON_PID"
for i in $(seq 1 40); do
	tail -n +"$n0" "$LOG" | grep -q "parent: reloaded" && break
	sleep 0.05
done
check "the next reload is taken" sh -c "tail -n +$n0 '$LOG' |
    grep -q 'parent: reloaded'"
code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
    -x "http://$P" "http://localhost:$OHTTP/after")
check_eq "and the proxy serves" "$code" 200

# --- A crash loop: worker 1 killed five times in a row stops it all.
stop_daemon
start_daemon "$T/r.yaml" || { nok "daemon restarts"; exit 0; }
pid=$DAEMON_PID
last=
for n in 1 2 3 4 5; do
	w=
	for i in $(seq 1 40); do
		w=$(proxy_pid 1)
		[ -n "$w" ] && [ "$w" != "$last" ] && break
		w=
		sleep 0.05
	done
	[ -n "$w" ] || break
	kill -KILL "$w"
	last=$w
done
for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
check "five deaths stop the daemon" sh -c "! kill -0 $pid 2>/dev/null"
wait "$pid"; rc=$?
DAEMON_PID=
check "the exit status is non-zero" test "$rc" != 0
check "the log says why" \
    grep -q "parent: worker 1 died 5 times in 60s; stopping" "$LOG"
check "no child is left" sh -c "! pgrep -P $pid >/dev/null"
