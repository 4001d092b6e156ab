# Shared helpers for the integration tests (sourced by bash).
set -u
: "${STAGE:?STAGE must name the staged install}"
AIBPROXYD="$STAGE/sbin/aibproxyd"
T=$(mktemp -d /tmp/aib-test.XXXXXX)
chmod 0755 "$T"
DAEMON_PID=
LOG="$T/daemon.log"
if [ "${SANITIZE:-0}" = 1 ]; then
	# Leak checking needs ptrace, which privilege separation forbids.
	export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
fi

ok()	{ echo "ok - $*"; }
nok()	{ echo "not ok - $*"; }
check()	{ local d="$1"; shift; if "$@"; then ok "$d"; else nok "$d"; fi; }

# A free TCP port on 127.0.0.1, below the ephemeral range, so that no
# client's connection can take it before the listener binds it, and not
# one this test was given already.
free_port() {
	python3 - "$T/.ports" <<'PY'
import os, random, socket, sys
given = set()
if os.path.exists(sys.argv[1]):
    given = set(open(sys.argv[1]).read().split())
with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
    top = int(f.read().split()[0])
for _ in range(1000):
    port = random.randint(10000, top - 1) if top > 11000 else 0
    if str(port) in given:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    except OSError:
        continue
    port = s.getsockname()[1]
    s.close()
    with open(sys.argv[1], "a") as f:
        f.write("%d\n" % port)
    print(port)
    break
PY
}

# make_ca DIR [rsa|ec] [days]: a self-signed CA as seed 000 makes it.
make_ca() {
	local d="$1" kind="${2:-rsa}" days="${3:-3650}"
	mkdir -p "$d"
	if [ "$kind" = ec ]; then
		openssl ecparam -name prime256v1 -genkey -noout -out "$d/ca.key" 2>/dev/null
	else
		openssl genrsa -out "$d/ca.key" 2048 2>/dev/null
	fi
	chmod 400 "$d/ca.key"
	openssl req -new -x509 -days "$days" -key "$d/ca.key" -out "$d/ca.crt" \
	    -subj "/CN=AI Bridge Proxy CA" 2>/dev/null
}

# write_config FILE PORT BRIDGEPORT [extra yaml...]
write_config() {
	local f="$1" port="$2" bport="$3"; shift 3
	cat > "$f" <<YAML
workers: 2
listen:
  - address: 127.0.0.1:$port
ca:
  cert: $T/ca/ca.crt
  key: $T/ca/ca.key
bridge:
  url: http://127.0.0.1:$bport
providers:
  - { name: anthropic, host: api.anthropic.com }
  - { name: openai, host: api.openai.com }
YAML
	local extra
	for extra in "$@"; do printf '%s\n' "$extra" >> "$f"; done
}

# start_daemon CONF: run in the foreground (-d) in the background and
# wait until it says it started.
# Under SANITIZE=1 a report in the daemon log fails the test even if
# the daemon carried on.
sanitizer_scan() {
	[ "${SANITIZE:-0}" = 1 ] && [ -s "$LOG" ] || return 0
	if grep -qE "ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:" "$LOG"; then
		nok "sanitizer report in the daemon log"
		grep -E -A12 "ERROR: AddressSanitizer|runtime error:" "$LOG" |
		    head -40 | sed 's/^/#   /'
	fi
}

# In every test: a child killed by its seccomp filter (issue 12) is a
# missing entry in common/sandbox_linux.c, whatever the test checked.
sandbox_scan() {
	[ -s "$LOG" ] || return 0
	if grep -q "killed by signal SIGSYS" "$LOG"; then
		nok "a child was killed by its sandbox"
		grep "killed by signal SIGSYS" "$LOG" | head -5 |
		    sed 's/^/#   /'
	fi
}

start_daemon() {
	sanitizer_scan
	sandbox_scan
	: > "$LOG"
	"$AIBPROXYD" -d -v -f "$1" >>"$LOG" 2>&1 &
	DAEMON_PID=$!
	wait_started "$LOG" "$DAEMON_PID"
}

# wait_started LOG PID: until the daemon PID says in LOG that it started.
wait_started() {
	local i
	for i in $(seq 1 100); do
		# Text, or the same with log.format: json.
		grep -qE 'parent: started|"msg":"started: ' "$1" 2>/dev/null &&
		    return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.05
	done
	echo "# daemon did not start; log:"; sed 's/^/#   /' "$1"
	return 1
}

stop_daemon() {
	[ -n "$DAEMON_PID" ] || return 0
	kill -TERM "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
}

# reload_daemon: SIGHUP, then wait for the parent's verdict; true if
# it says "reloaded", false on "reload failed" or after 5 s of silence.
reload_daemon() {
	local n0 i
	n0=$(wc -l < "$LOG")
	kill -HUP "$DAEMON_PID"
	for i in $(seq 1 100); do
		tail -n +"$((n0 + 1))" "$LOG" |
		    grep -qE "parent: (reloaded|reload failed)" && break
		sleep 0.05
	done
	tail -n +"$((n0 + 1))" "$LOG" | grep -q "parent: reloaded"
}

# Pids of the daemon's children, by role (signer, resolver, proxy).
child_pids() {
	local role="$1" pid
	for pid in $(pgrep -P "$DAEMON_PID"); do
		tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "^aibproxyd: $role" &&
		    echo "$pid"
	done
}

# worker_port PID [SRC] [PORT]: a local port from which a connection
# from SRC (127.0.0.1) to 127.0.0.1:PORT ($PORT) is accepted by the
# proxy worker PID; a client that binds it (curl --local-port) is
# served there.  Each worker accepts from a listening socket of its own
# (SO_REUSEPORT), which the kernel chooses by a hash of the
# connection's addresses and ports: so the same ports reach the same
# worker.  Each probe sends a byte, since a listener hands over only a
# client that has spoken (TCP_DEFER_ACCEPT, aibproxyd.8), waits until a
# worker accepted it, then is reset (no TIME_WAIT holds the port), and
# its worker logs a read error.
worker_port() {
	python3 - "$1" "${2:-127.0.0.1}" "${3:-$PORT}" \
	    $(child_pids proxy) <<'PY'
import os, socket, struct, sys, time
want, src, port, pids = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]

def hexaddr(a, p):
    return "%08X:%04X" % (struct.unpack("<I", socket.inet_aton(a))[0], p)

def entry(lport):
    """The proxy's side of the probe in /proc/net/tcp: its inode."""
    here, there = hexaddr("127.0.0.1", port), hexaddr(src, lport)
    with open("/proc/net/tcp") as f:
        for line in f:
            x = line.split()
            if x[1] == here and x[2] == there:
                return int(x[9])
    return None

def holder(inode):
    link = "socket:[%d]" % inode
    for pid in pids:
        try:
            fds = os.listdir("/proc/%s/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%s/fd/%s" % (pid, fd)) == link:
                    return pid
            except OSError:
                pass
    return None

for _ in range(200):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    s.send(b"G")
    lport, who = s.getsockname()[1], None
    for _ in range(500):
        inode = entry(lport)
        if inode:
            who = holder(inode)
            if who:
                break
        time.sleep(0.01)
    s.close()
    for _ in range(500):
        if entry(lport) is None:
            break
        time.sleep(0.01)
    if who == want:
        print(lport)
        sys.exit(0)
sys.exit(1)
PY
}

# The four uids (real, effective, saved, fs) of a process, as names.
proc_users() {
	awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$1/status" |
	    while read -r a b c d; do
		echo "$(id -nu "$a") $(id -nu "$b") $(id -nu "$c") $(id -nu "$d")"
	    done
}

cleanup() {
	stop_daemon
	sanitizer_scan
	sandbox_scan
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

# ---- Helpers for the proxy path tests (t_proxy*.sh) ----

# The directory of the test doubles and clients.
doubles() {
	echo "$(cd "$(dirname "${BASH_SOURCE[0]}")/../doubles" && pwd)"
}

# proxy_config FILE PORT BRIDGEURL [extra yaml...]: one worker (so a
# per-worker limit or RSS is one process's; WORKERS=n for more), debug
# log, four providers.
proxy_config() {
	local f="$1" port="$2" burl="$3"; shift 3
	cat > "$f" <<YAML
workers: ${WORKERS:-1}
listen:
  - address: 127.0.0.1:$port
ca:
  cert: $T/ca/ca.crt
  key: $T/ca/ca.key
bridge:
  url: $burl
providers:
  - { name: anthropic, host: api.anthropic.com }
  - { name: openai, host: api.openai.com }
  - { name: copilot, host: api.individual.githubcopilot.com, type: copilot }
  - { name: openrouter, host: openrouter.ai }
log: { level: debug }
YAML
	local extra
	for extra in "$@"; do printf '%s\n' "$extra" >> "$f"; done
}



# wait_ready FILE: until a double printed "ready" (5 s at most).
# Helpers for the upstream proxy tests.

BG_PIDS=
LAST_PID=

# bg_start OUTFILE CMD...: run CMD in the background, output to
# OUTFILE; its pid is LAST_PID and bg_stop_all stops it.
bg_start() {
	local out="$1"; shift
	"$@" >"$out" 2>&1 &
	LAST_PID=$!
	BG_PIDS="$BG_PIDS $LAST_PID"
}

# bg_stop PID: stop one process bg_start started.
bg_stop() {
	local p rest=
	kill -TERM "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	for p in $BG_PIDS; do [ "$p" = "$1" ] || rest="$rest $p"; done
	BG_PIDS=$rest
}

bg_stop_all() {
	local p
	for p in $BG_PIDS; do kill -TERM "$p" 2>/dev/null; done
	for p in $BG_PIDS; do wait "$p" 2>/dev/null; done
	BG_PIDS=
}

# wait_ready FILE: until a test double wrote "ready" there (5 s).
wait_ready() {
	local i
	for i in $(seq 1 100); do
		grep -q '^ready' "$1" 2>/dev/null && return 0
		sleep 0.05
	done
	echo "# not ready: $1"; sed 's/^/#   /' "$1"
	return 1
}

# start_bridge PORT LOG [bridge.py args...]
start_bridge() {
	local port="$1" log="$2"; shift 2
	bg_start "$log.out" python3 "$(doubles)/bridge.py" --port "$port" \
	    --log "$log" "$@"
	wait_ready "$log.out"
}

# start_origin PORT MODE [LOG]: origin.py (http or eof).
start_origin() {
	local port="$1" mode="$2" log="${3:-$T/origin-$1.log}"
	bg_start "$log.out" python3 "$(doubles)/origin.py" --port "$port" \
	    --mode "$mode" --log "$log"
	wait_ready "$log.out"
}

# proxy_setup: what every proxy path test starts from: a CA ($CA), the
# proxy's and the bridge's ports ($PORT, $BPORT, $P), the bridge's log
# ($BLOG) and a token whose id part is "abcdef1234" and whose secret
# part must never be logged.
proxy_setup() {
	trap proxy_cleanup EXIT
	make_ca "$T/ca" rsa
	CA=$T/ca/ca.crt
	PORT=$(free_port)
	BPORT=$(free_port)
	P=127.0.0.1:$PORT
	BLOG=$T/bridge.log
	TOKEN=abcdef1234-S3cretS3cretS3cretS3c12
}

proxy_cleanup() {
	bg_stop_all
	cleanup
}

# ka_start PROXY HOST CA GO: kaclient.py in the background ($KA), its
# output in $T/ka.out, once its first request was answered; the second
# goes once the file GO exists.
ka_start() {
	local i
	rm -f "$4"
	python3 "$(doubles)/kaclient.py" --proxy "$1" --token "$TOKEN" \
	    --cafile "$3" --host "$2" --path /v1/models --wait "$4" \
	    > "$T/ka.out" 2>&1 &
	KA=$!
	for i in $(seq 1 100); do
		grep -q "^1 " "$T/ka.out" 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# pc ARGS...: the proxy test client; blog LOG ARGS...: the request logs.
pc()	{ python3 "$(doubles)/pclient.py" "$@"; }
blog()	{ python3 "$(doubles)/blog.py" "$@"; }

# check_eq DESC GOT WANT: like check, and says what differed.
check_eq() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		nok "$1"
		echo "#   got:  $(printf '%s' "$2" | head -c 400)"
		echo "#   want: $(printf '%s' "$3" | head -c 400)"
	fi
}

# check_settles DESC WANT CMD [ARGS...]: check_eq on CMD's output once
# it is WANT, or on what it last said after 5 s: for what other
# processes finish after the log line a test waits for (workers close
# their copies of the listening sockets a reload dropped once told to
# start, after the parent's "reloaded").
check_settles() {
	local desc="$1" want="$2" got i
	shift 2
	for i in $(seq 1 100); do
		got=$("$@")
		[ "$got" = "$want" ] && break
		sleep 0.05
	done
	check_eq "$desc" "$got" "$want"
}

# wait_log ERE [N] [SECS]: a line of the daemon log after line N (0)
# matches the extended regular expression, within SECS (2) seconds: a
# session's closing line is written after its client may have seen the
# end.
wait_log() {
	wait_line "$LOG" "$@"
}

# wait_line FILE ERE [N] [SECS]: the same in any file.
wait_line() {
	local i
	for i in $(seq 1 $(( ${4:-2} * 20 ))); do
		tail -n +"$((${3:-0} + 1))" "$1" 2>/dev/null | grep -qE "$2" &&
		    return 0
		sleep 0.05
	done
	return 1
}

# Lines of the daemon log matching an extended regular expression.
log_count() {
	grep -cE "$1" "$LOG"
}

# The resident set of a process, in kB.
rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# make_listener_cert DIR: a self-signed certificate for 127.0.0.1.
make_listener_cert() {
	mkdir -p "$1"
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 \
	    -keyout "$1/listen.key" -out "$1/listen.crt" \
	    -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
	    2>/dev/null
	chmod 400 "$1/listen.key"
}

# bg_kill PID: stop one process that bg_start started.
bg_kill() {
	local p rest=
	for p in ${BG_PIDS:-}; do
		[ "$p" = "$1" ] || rest="$rest $p"
	done
	BG_PIDS=$rest
	kill "$1" 2>/dev/null
	wait "$1" 2>/dev/null
	return 1
}

# wait_port PORT [TRIES]: until something accepts on 127.0.0.1:PORT.
wait_port() {
	local i
	for i in $(seq 1 "${2:-100}"); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# make_root DIR CN [rsa|rsa4096|ec]: a self-signed root CA with
# CA:TRUE and keyCertSign, as DIR/ca.key and DIR/ca.crt.
make_root() {
	local d="$1" cn="$2" kind="${3:-rsa}"
	mkdir -p "$d"
	case "$kind" in
	ec)	openssl ecparam -name prime256v1 -genkey -noout \
		    -out "$d/ca.key" 2>/dev/null ;;
	rsa4096) openssl genrsa -out "$d/ca.key" 4096 2>/dev/null ;;
	*)	openssl genrsa -out "$d/ca.key" 2048 2>/dev/null ;;
	esac
	openssl req -new -x509 -days 30 -key "$d/ca.key" -out "$d/ca.crt" \
	    -subj "/CN=$cn" -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# make_leaf CADIR OUT NAME: OUT.key and OUT.crt, a server certificate
# for NAME (and 127.0.0.1) signed by the CA in CADIR.
make_leaf() {
	local ca="$1" out="$2" name="$3"
	openssl ecparam -name prime256v1 -genkey -noout -out "$out.key" \
	    2>/dev/null
	openssl req -new -key "$out.key" -subj "/CN=$name" \
	    -out "$out.csr" 2>/dev/null
	printf 'subjectAltName=DNS:%s,IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' \
	    "$name" > "$out.ext"
	openssl x509 -req -in "$out.csr" -CA "$ca/ca.crt" -CAkey "$ca/ca.key" \
	    -CAcreateserial -days 30 -extfile "$out.ext" -out "$out.crt" \
	    2>/dev/null
	chmod 644 "$out.key"
}

# b64 TEXT: base64 of TEXT exactly (no newline), on one line.
b64() {
	printf '%s' "$1" | base64 -w0
}

# check_log DESC CMD...: check, and on failure show the daemon log's
# last lines as comments, so a failure carries what the daemon said.
check_log() {
	local d="$1"; shift
	if "$@"; then
		ok "$d"
		return 0
	fi
	nok "$d"
	tail -n "${LOG_LINES:-12}" "$LOG" 2>/dev/null | sed 's/^/#   /'
	return 1
}
