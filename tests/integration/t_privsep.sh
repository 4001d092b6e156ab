# Issue 2: processes, users, chroots, where the CA key goes, child death,
# SIGTERM, reload and the config test, all seen from outside.
. "$(dirname "$0")/lib.sh"

make_ca "$T/ca" rsa
PORT=$(free_port)
BPORT=$(free_port)
write_config "$T/good.yaml" "$PORT" "$BPORT"

# -n: good file, bad file (file:line error), mismatched CA key.
out=$("$AIBPROXYD" -n -f "$T/good.yaml" 2>&1); rc=$?
check "-n on a good file says configuration OK" \
    test "$rc" = 0 -a "$out" = "configuration OK"
cp "$T/good.yaml" "$T/bad.yaml"
printf 'tunnel:\n  ports: [80, http]\n' >> "$T/bad.yaml"
line=$(grep -n 'ports:' "$T/bad.yaml" | cut -d: -f1)
out=$("$AIBPROXYD" -n -f "$T/bad.yaml" 2>&1); rc=$?
check "-n on a bad file exits 1" test "$rc" = 1
check "-n names file:line and key" \
    test "$out" = "$T/bad.yaml:$line: tunnel.ports[1]: \"http\" is not a port"
make_ca "$T/other" rsa
sed "s|$T/ca/ca.key|$T/other/ca.key|" "$T/good.yaml" > "$T/mismatch.yaml"
out=$("$AIBPROXYD" -n -f "$T/mismatch.yaml" 2>&1); rc=$?
check "-n with a CA key that does not match the cert exits 1" test "$rc" = 1
case "$out" in *"does not match"*) ok "-n says the key does not match";;
    *) nok "-n says the key does not match (got: $out)";; esac

# -n: every trust bundle the workers will be given must hold a
# certificate: bridge.ca, upstream.ca, and when they are left out the
# system's file (libtls's default), here hidden in a mount namespace.
: > "$T/empty.pem"
write_config "$T/emptyca.yaml" "$PORT" "$BPORT"
sed -i "s|^  url: http://127.0.0.1:$BPORT\$|&\\n  ca: $T/empty.pem|" "$T/emptyca.yaml"
out=$("$AIBPROXYD" -n -f "$T/emptyca.yaml" 2>&1); rc=$?
check_eq "-n: a bridge.ca without a certificate is named, with its line" \
    "$rc: $out" "1: $T/emptyca.yaml:9: bridge.ca: $T/empty.pem: no certificate in the file"
write_config "$T/upca.yaml" "$PORT" "$BPORT" \
    "upstream: { url: http://127.0.0.1:$BPORT, ca: $T/ca/ca.key }"
out=$("$AIBPROXYD" -n -f "$T/upca.yaml" 2>&1); rc=$?
check_eq "-n: an upstream.ca without a certificate is named" "$rc: $out" \
    "1: $T/upca.yaml:12: upstream.ca: $T/ca/ca.key: no certificate in the file"
SYSCA=/usr/lib/ssl/cert.pem	# LibreTLS's default on Debian
out=$(unshare --mount --propagation private sh -c \
    'mount -t tmpfs none "$(dirname "$1")" && exec "$2" -n -f "$3"' sh \
    "$SYSCA" "$AIBPROXYD" "$T/good.yaml" 2>&1); rc=$?
check_eq "-n: a missing system trust file is named with the system's error" \
    "$rc: $out" "1: $T/good.yaml: bridge.ca: not set, so the system's trusted certificates, $SYSCA: No such file or directory"
out=$(unshare --mount --propagation private sh -c \
    'mount -t tmpfs none "$(dirname "$1")" && : > "$1" &&
    exec "$2" -n -f "$3"' sh "$SYSCA" "$AIBPROXYD" "$T/upca.yaml" 2>&1); rc=$?
check_eq "-n: an empty system trust file is named too" "$rc: $out" \
    "1: $T/upca.yaml: bridge.ca: not set, so the system's trusted certificates, $SYSCA: no certificate in the file
$T/upca.yaml:12: upstream.ca: $T/ca/ca.key: no certificate in the file"

# Must run as root; a missing user is a clear start-up error.
out=$(setpriv --reuid=nobody --regid=nogroup --clear-groups \
    "$AIBPROXYD" -d -f "$T/good.yaml" 2>&1); rc=$?
check "non-root start refused" test "$rc" = 1
case "$out" in *"need root privileges"*) ok "non-root error says why";;
    *) nok "non-root error says why (got: $out)";; esac
write_config "$T/nouser.yaml" "$PORT" "$BPORT" "user: _aibnosuchuser"
out=$("$AIBPROXYD" -d -f "$T/nouser.yaml" 2>&1); rc=$?
check "unknown user refused at start" test "$rc" = 1
case "$out" in *"unknown user _aibnosuchuser"*) ok "unknown user named";;
    *) nok "unknown user named (got: $out)";; esac

# The running daemon, seen from outside.
start_daemon "$T/good.yaml" || { nok "daemon starts"; exit 0; }
ok "daemon starts"
check "parent runs as root" test "$(proc_users "$DAEMON_PID")" = "root root root root"
signer=$(child_pids signer)
resolver=$(child_pids resolver)
proxies=$(child_pids proxy)
check "one signer" test "$(echo "$signer" | wc -w)" = 1
check "one resolver" test "$(echo "$resolver" | wc -w)" = 1
check "two proxy workers" test "$(echo "$proxies" | wc -w)" = 2
check "signer runs as _aibsignerd" \
    test "$(proc_users "$signer")" = "_aibsignerd _aibsignerd _aibsignerd _aibsignerd"
check "resolver runs as _aibproxyd" \
    test "$(proc_users "$resolver")" = "_aibproxyd _aibproxyd _aibproxyd _aibproxyd"
for p in $proxies; do
	check "proxy $p runs as _aibproxyd" \
	    test "$(proc_users "$p")" = "_aibproxyd _aibproxyd _aibproxyd _aibproxyd"
	check "proxy $p is chrooted to /var/empty" \
	    test "$(readlink "/proc/$p/root")" = /var/empty
done
check "signer is chrooted to /var/empty" test "$(readlink "/proc/$signer/root")" = /var/empty
check "resolver is not chrooted (needs resolv.conf)" \
    test "$(readlink "/proc/$resolver/root")" = /
check "signer is not dumpable" \
    test "$(stat -c %U "/proc/$signer/mem")" = root
check "signer has no core limit" \
    test "$(awk '/Max core/ {print $5}' "/proc/$signer/limits")" = 0

# Issue 12: every child runs under its seccomp filter (mode 2), the
# parent under none; no child died of one while the daemon started.
for pid in $signer $resolver $proxies; do
	check "pid $pid ($(tr '\0' ' ' < "/proc/$pid/cmdline" | sed 's/ -.*//')) runs under a seccomp filter" \
	    test "$(awk '/^Seccomp:/ {print $2}' "/proc/$pid/status")" = 2
done
check "the parent has no seccomp filter" \
    test "$(awk '/^Seccomp:/ {print $2}' "/proc/$DAEMON_PID/status")" = 0

# The CA key: no child but signerd ever had it, not even as an fd.
holders=
for pid in $DAEMON_PID $signer $resolver $proxies; do
	ls -l "/proc/$pid/fd" 2>/dev/null | grep -q "$T/ca/ca.key" &&
	    holders="$holders $pid"
done
check "no process keeps the CA key file open" test -z "$holders"
d=$(openssl rsa -in "$T/ca/ca.key" -noout -text 2>/dev/null |
    awk '/^privateExponent/ {on=1; next} /^prime1/ {on=0} on' |
    tr -d ' \n:')
needle=${d:64:64}
python3 "$(dirname "$0")/memscan.py" "$signer" "$needle"
check "the CA private key is in signerd's memory (scan works)" test $? = 0
for p in $proxies $resolver; do
	python3 "$(dirname "$0")/memscan.py" "$p" "$needle"
	check "the CA private key is not in pid $p's memory" test $? = 1
done

# Reload: a broken file is refused and the old config stays.
cp "$T/good.yaml" "$T/live.yaml"
stop_daemon
start_daemon "$T/live.yaml" || nok "daemon restarts"
echo 'bogus: [' >> "$T/live.yaml"
kill -HUP "$DAEMON_PID"; sleep 0.5
check "invalid reload is refused and logged" grep -q "reload failed, keeping the running configuration" "$LOG"
check "daemon survives an invalid reload" kill -0 "$DAEMON_PID"
write_config "$T/live.yaml" "$PORT" "$BPORT" "log: { level: debug }"
kill -HUP "$DAEMON_PID"; sleep 0.5
check "valid reload is taken" grep -q "parent: reloaded" "$LOG"
sed "s|$T/ca/ca.key|$T/other/ca.key|" "$T/good.yaml" > "$T/live.yaml"
: > "$LOG.mark"; n=$(grep -c "reload failed" "$LOG")
kill -HUP "$DAEMON_PID"; sleep 0.5
check "reload with a mismatched CA key is refused by signerd" \
    test "$(grep -c "reload failed" "$LOG")" -gt "$n"
check "signerd's reason is logged" grep -q "signer refused the configuration" "$LOG"
check "daemon survives a refused CA" kill -0 "$DAEMON_PID"

# Killing signerd stops the whole daemon, with a line saying so.
signer=$(child_pids signer)
pid=$DAEMON_PID
kids=$(pgrep -P "$pid")
kill -KILL "$signer"
for i in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
check "daemon stops when signerd dies" sh -c "! kill -0 $pid 2>/dev/null"
check "the log names the lost child" grep -q "lost child: aibproxyd: signer" "$LOG"
wait "$pid" 2>/dev/null; rc=$?
check "exit status is non-zero after losing a child" test "$rc" != 0
DAEMON_PID=
left=
for k in $kids; do
	kill -0 "$k" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$k/status" &&
	    left="$left $k"
done
check "no child is left behind" test -z "$left"

# SIGTERM stops it within a second.
start_daemon "$T/good.yaml" || nok "daemon restarts"
pid=$DAEMON_PID
t0=$(date +%s%N)
kill -TERM "$pid"
wait "$pid"; rc=$?
t1=$(date +%s%N)
DAEMON_PID=
ms=$(( (t1 - t0) / 1000000 ))
echo "# SIGTERM to exit: ${ms} ms"
check "SIGTERM stops the daemon within a second" test "$ms" -lt 1000
check "SIGTERM exit status is 0" test "$rc" = 0
