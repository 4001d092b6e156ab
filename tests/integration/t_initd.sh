# The Debian init.d script, driven as an operator would: start, status,
# reload, restart, stop, and a broken configuration at each step.
. "$(dirname "$0")/lib.sh"
INITD="$STAGE/etc/init.d/aibproxyd"
PIDFILE=/run/aibproxyd.pid

make_ca "$T/ca" rsa
PORT=$(free_port)
BPORT=$(free_port)
write_config "$T/good.yaml" "$PORT" "$BPORT"
export CONFIG="$T/good.yaml"

parent() { cat "$PIDFILE" 2>/dev/null; }
# Gone, or a zombie its new parent (pid 1 here) has not reaped yet.
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status"; }
children_of() { pgrep -P "$1" | tr '\n' ' '; }

"$INITD" start >/dev/null 2>&1
check "init.d start exits 0" test $? = 0
pid=$(parent)
check "a pid file names a running parent" kill -0 "${pid:-0}"
DAEMON_PID=$pid
check "the parent runs as root" test "$(proc_users "$pid")" = "root root root root"
signer=$(child_pids signer)
check "started this way, signerd runs as _aibsignerd" \
    test "$(proc_users "${signer:-0}")" = "_aibsignerd _aibsignerd _aibsignerd _aibsignerd"
for p in $(child_pids proxy); do
	check "started this way, proxy $p runs as _aibproxyd in /var/empty" \
	    test "$(proc_users "$p") $(readlink "/proc/$p/root")" = \
	    "_aibproxyd _aibproxyd _aibproxyd _aibproxyd /var/empty"
done
out=$("$INITD" status 2>&1)
check "init.d status exits 0 while running" test $? = 0
case "$out" in *"is running"*) ok "status says it is running";;
*) nok "status says it is running (got: $out)";; esac

"$INITD" start >/dev/null 2>&1
check "a second start is harmless" test "$(parent)" = "$pid"

before=$(children_of "$pid")
"$INITD" reload >/dev/null 2>&1
check "init.d reload exits 0" test $? = 0
sleep 0.5
check "reload keeps the parent and its children" \
    test "$(parent) $(children_of "$pid")" = "$pid $before"

cp "$T/good.yaml" "$T/broken.yaml"
echo 'tunnel: { ports: [http] }' >> "$T/broken.yaml"
out=$(CONFIG="$T/broken.yaml" "$INITD" reload 2>&1)
check "reload of a broken file fails" test $? = 1
case "$out" in *"broken.yaml:"*"tunnel.ports"*) ok "and says which line and key";;
*) nok "and says which line and key (got: $out)";; esac
check "the daemon still runs after a refused reload" kill -0 "$pid"

# configtest: its exit status is -n's, and it says why.
out=$("$INITD" configtest 2>&1)
check_eq "configtest of a good file: exit 0" "$? $out" "0 configuration OK"
out=$(CONFIG="$T/broken.yaml" "$INITD" configtest 2>&1)
check_eq "configtest of a broken file: exit 1, and why" "$? $out" \
    "1 $T/broken.yaml:$(grep -c '' "$T/broken.yaml"): tunnel.ports[0]: \"http\" is not a port"
# A file that parses but that a reload would refuse: a provider the
# CA's name constraints leave out.
mkdir -p "$T/nc"
openssl ecparam -name prime256v1 -genkey -noout -out "$T/nc/ca.key" 2>/dev/null
openssl req -new -x509 -days 30 -key "$T/nc/ca.key" -out "$T/nc/ca.crt" \
    -subj "/CN=Constrained CA" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "nameConstraints=critical,permitted;DNS:anthropic.com" 2>/dev/null
chmod 0640 "$T/nc/ca.key"
sed "s|$T/ca/ca.crt|$T/nc/ca.crt|; s|$T/ca/ca.key|$T/nc/ca.key|" \
    "$T/good.yaml" > "$T/nc.yaml"
out=$(CONFIG="$T/nc.yaml" "$INITD" configtest 2>&1)
check "configtest of a CA that may not sign for a provider: exit 1" test $? = 1
case "$out" in *"ca.key: $T/nc/ca.key: warning: readable"*"provider host api.openai.com is outside the name constraints"*)
	ok "and it shows the warning and the error";;
*) nok "and it shows the warning and the error (got: $out)";; esac
out=$(CONFIG="$T/nc.yaml" "$INITD" reload 2>&1)
check "reload of that file: exit 1" test $? = 1
check "and the daemon still runs" kill -0 "$pid"

out=$(CONFIG="$T/broken.yaml" "$INITD" restart 2>&1)
check "restart with a broken file fails before stopping anything" \
    test $? = 1 -a "$(parent)" = "$pid"
check "and the daemon still runs" kill -0 "$pid"

"$INITD" restart >/dev/null 2>&1
check "init.d restart exits 0" test $? = 0
new=$(parent)
check "restart gives a new parent" test -n "$new" -a "$new" != "$pid"
check "the old parent is gone" gone "$pid"
DAEMON_PID=$new
check "after restart the children are back" test "$(child_pids proxy | wc -w)" = 2

"$INITD" stop >/dev/null 2>&1
check "init.d stop exits 0" test $? = 0
check "stop removes the pid file" test ! -e "$PIDFILE"
check "stop leaves the parent gone" gone "$new"
check "stop leaves no child" test -z "$(pgrep -P "$new")"
DAEMON_PID=
"$INITD" status >/dev/null 2>&1
check "status exits 3 when stopped" test $? = 3

CONFIG="$T/broken.yaml" "$INITD" start >/dev/null 2>&1
check "start with a broken file fails" test $? = 1
check "and starts nothing" test ! -e "$PIDFILE"

# A configuration that parses but a CA signerd refuses: the start
# itself must fail, not report success and die.
make_ca "$T/other" rsa
sed "s|$T/ca/ca.key|$T/other/ca.key|" "$T/good.yaml" > "$T/badca.yaml"
cp "$T/other/ca.key" "$T/other/ca.key" 2>/dev/null
CONFIG="$T/badca.yaml" "$INITD" start >/dev/null 2>&1
check "start with a CA key that does not match fails" test $? = 1
check "and leaves no pid file" test ! -e "$PIDFILE"
