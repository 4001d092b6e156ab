# Issue 8: limits.connections is the total over all workers, and the
# descriptor budget: the parent raises its open files limit to the hard
# limit, and -n and start-up refuse a limits.connections that cannot
# fit in it, saying by how much.
. "$(dirname "$0")/lib.sh"
proxy_setup
HARD=$(ulimit -H -n)

# hold N: open N connections at once, each with the start of a request
# (a listener hands over only a client that has spoken: aibproxyd.8,
# TCP_DEFER_ACCEPT), wait, then print how many are still open and how
# many were answered (503) or closed.
hold() {
	python3 - "$P" "$1" <<'PY'
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
socks = [socket.create_connection((host, int(port))) for _ in range(int(sys.argv[2]))]
for s in socks:
    s.send(b"GET")
time.sleep(1)
held = refused = 0
for s in socks:
    s.setblocking(False)
    try:
        s.recv(4096)
        refused += 1
    except BlockingIOError:
        held += 1
    except OSError:
        refused += 1
print(held, refused)
for s in socks:
    s.close()
PY
}
# The share each worker enforced, from its refusals ("" if none; a
# worker logs the first, then at most one every 10 s).
shares() {
	sed -n "s/^aibproxyd\[[0-9]*\]: proxy $1: \([0-9]*\) connections, refusing more.*/\1/p" "$LOG" |
	    sort -u | tr '\n' ' '
}

# --- Start-up raises the soft limit to the hard one and says so.
write_config "$T/c.yaml" "$PORT" "$BPORT" \
    "limits: { connections: 50 }" "timeouts: { header: 30s }"
ulimit -S -n 512
start_daemon "$T/c.yaml" || { nok "daemon starts"; exit 0; }
ulimit -S -n "$HARD"
check "start-up logs the raised limit" \
    grep -q "parent: open files limit $HARD (was 512): limits.connections 50, 25 per worker" "$LOG"
w=$(child_pids proxy | head -1)
check_eq "the workers have it too" \
    "$(awk '/^Max open files/ { print $4, $5 }' "/proc/$w/limits")" "$HARD $HARD"

# --- 50 with 2 workers: 25 each, 50 at most in all.
read -r held refused <<EOF
$(hold 80)
EOF
echo "# 80 connections: $held held open, $refused refused"
check "at most 50 of 80 connections are held open" test "$held" -le 50
check "the others are refused" test $((held + refused)) = 80 -a "$refused" -ge 30
# A worker that got fewer than its share refused none and logged none.
check "each worker that refused some had admitted 25" \
    test "$(shares 0)$(shares 1)" = "25 25 " -o "$(shares 0)$(shares 1)" = "25 "

# --- 51: 26 and 25 (new workers, whose first refusal is logged).
stop_daemon
write_config "$T/c.yaml" "$PORT" "$BPORT" \
    "limits: { connections: 51 }" "timeouts: { header: 30s }"
start_daemon "$T/c.yaml" || { nok "daemon starts with 51"; exit 0; }
# Enough that each worker surely gets more than its share.
read -r held refused <<EOF
$(hold 300)
EOF
echo "# 300 connections: $held held open, $refused refused"
check "at most 51 of 300 connections are held open" test "$held" -le 51
# The kernel need not spread the accepts evenly: a worker that got
# fewer than its share refused none, one that refused did so at it.
check "worker 0 refuses only past 26 ($(shares 0))" \
    test "$(shares 0)" = "26 " -o -z "$(shares 0)"
check "worker 1 refuses only past 25 ($(shares 1))" \
    test "$(shares 1)" = "25 " -o -z "$(shares 1)"
check "at least one worker reached its share" \
    test -n "$(shares 0)$(shares 1)"

# --- A refused client reads the whole 503, then a clean end: its
# request was read before the close, which otherwise sends a reset
# (RFC 2525, 2.17) that may make a client's stack drop the answer.
ends=$(python3 - "$P" <<'PY'
import socket, sys, time
host, port = sys.argv[1].rsplit(":", 1)
held, ends = [], []
for _ in range(120):
    s = socket.create_connection((host, int(port)))
    s.sendall(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n")
    held.append(s)
time.sleep(1)
for s in held:
    s.settimeout(0.2)
    data = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                if data.startswith(b"HTTP/1.1 503"):
                    ends.append("fin")
                break
            data += chunk
    except socket.timeout:
        pass
    except ConnectionResetError:
        ends.append("reset" if data.startswith(b"HTTP/1.1 503") else "bare-reset")
print(" ".join(sorted(set(ends))) or "none")
for s in held:
    s.close()
PY
)
check_eq "refused clients read the 503 and a clean end, no reset" "$ends" "fin"
stop_daemon

# --- A limit that cannot fit is refused, with the numbers.
out=$( (ulimit -n 300; "$AIBPROXYD" -n -f "$T/c.yaml") 2>&1); rc=$?
echo "# $out"
check "-n refuses limits.connections 51 under ulimit -n 300" test "$rc" = 1
case "$out" in
*"limits.connections 51 does not fit"*"needs 393 descriptors"*"(ulimit -n) is 300"*)
	ok "-n names limits.connections, the need and the limit" ;;
*)	nok "-n names limits.connections, the need and the limit" ;;
esac
out=$( (ulimit -n 300; "$AIBPROXYD" -d -f "$T/c.yaml") 2>&1); rc=$?
check "start-up refuses it too" test "$rc" = 1
case "$out" in *"limits.connections 51 does not fit"*)
	ok "start-up says why" ;; *) nok "start-up says why (got: $out)" ;; esac
out=$( (ulimit -n 1000; "$AIBPROXYD" -n -f "$T/c.yaml") 2>&1); rc=$?
check_eq "under ulimit -n 1000 it fits" "$rc $out" "0 configuration OK"
write_config "$T/d.yaml" "$PORT" "$BPORT" "limits: { connections: 1 }"
out=$("$AIBPROXYD" -n -f "$T/d.yaml" 2>&1); rc=$?
check "fewer connections than workers is refused" test "$rc" = 1
case "$out" in *"limits.connections 1 is less than workers (2)"*)
	ok "... and says so" ;; *) nok "... and says so (got: $out)" ;; esac

# --- Not set: the default is lowered to what fits, not refused.
write_config "$T/e.yaml" "$PORT" "$BPORT"
out=$( (ulimit -n 300; "$AIBPROXYD" -n -f "$T/e.yaml") 2>&1); rc=$?
check_eq "an unset limits.connections fits itself to ulimit -n 300" \
    "$rc $out" "0 configuration OK"
