# Issue 10: a start that fails after aibproxyd detached (without -d)
# says why on standard error, in the words of its log line, and exits
# 1.  Each configuration here passes -n and fails only at start.
. "$(dirname "$0")/lib.sh"

HOLDER=
trap '[ -n "$HOLDER" ] && kill "$HOLDER" 2>/dev/null; cleanup' EXIT

make_ca "$T/ca" rsa
PORT=$(free_port)
BPORT=$(free_port)
write_config "$T/good.yaml" "$PORT" "$BPORT"

# start NAME: aibproxyd started as an rc script starts it, on
# $T/NAME.yaml; prints its exit status and what it wrote.  Should it
# start after all, stop it: a failure is what is wanted here.
start() {
	local out rc pid
	out=$("$AIBPROXYD" -f "$T/$1.yaml" 2>&1); rc=$?
	if [ "$rc" = 0 ] && pid=$(cat /run/aibproxyd.pid 2>/dev/null) &&
	    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF "$T/$1.yaml"; then
		kill -TERM "$pid"
	fi
	echo "$rc $out"
}

# The listen address is taken by another process: one that set
# SO_REUSEPORT too (root, as the daemon is) must not see its clients
# shared with a daemon started by mistake.
for opt in 0 1; do
	what=$([ "$opt" = 1 ] && echo ", with SO_REUSEPORT")
	python3 -c '
import socket, sys, time
s = socket.socket()
if sys.argv[2] == "1":
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
print("ready", flush=True)
time.sleep(60)' "$PORT" "$opt" > "$T/holder.out" 2>&1 &
	HOLDER=$!
	wait_ready "$T/holder.out"
	out=$("$AIBPROXYD" -n -f "$T/good.yaml" 2>&1)
	check_eq "-n passes with the listen address in use$what" "$? $out" \
	    "0 configuration OK"
	check_eq "start with the listen address in use$what: exit 1, and why" \
	    "$(start good)" \
	    "1 aibproxyd: did not start: listen 127.0.0.1:$PORT: bind: Address already in use"
	kill "$HOLDER" 2>/dev/null
	wait "$HOLDER" 2>/dev/null
	HOLDER=
done

# log.dump_dir below a directory that does not exist: mkdir(2) fails.
write_config "$T/dump.yaml" "$PORT" "$BPORT" \
    "log: { dump_dir: $T/none/dumps }"
out=$("$AIBPROXYD" -n -f "$T/dump.yaml" 2>&1)
check_eq "-n passes a dump_dir whose parent is missing" "$? $out" \
    "0 configuration OK"
check_eq "start with it: exit 1, and the call and its error" \
    "$(start dump)" \
    "1 aibproxyd: did not start: log.dump_dir $T/none/dumps: mkdir: No such file or directory"

# A CA key that signerd refuses: -n says so, a start without -n
# detaches first and now says it too.
make_ca "$T/other" rsa
sed "s|$T/ca/ca.key|$T/other/ca.key|" "$T/good.yaml" > "$T/badca.yaml"
check_eq "start with a CA key signerd refuses: exit 1, and why" \
    "$(start badca)" \
    "1 aibproxyd: did not start: aibproxyd: signer refused the configuration: CA key does not match the CA certificate"
