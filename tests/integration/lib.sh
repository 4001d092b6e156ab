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

# A free TCP port on 127.0.0.1.
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
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
start_daemon() {
	: > "$LOG"
	"$AIBPROXYD" -d -v -f "$1" >>"$LOG" 2>&1 &
	DAEMON_PID=$!
	local i
	for i in $(seq 1 100); do
		grep -q 'parent: started' "$LOG" && return 0
		kill -0 "$DAEMON_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "# daemon did not start; log:"; sed 's/^/#   /' "$LOG"
	return 1
}

stop_daemon() {
	[ -n "$DAEMON_PID" ] || return 0
	kill -TERM "$DAEMON_PID" 2>/dev/null
	wait "$DAEMON_PID" 2>/dev/null
	DAEMON_PID=
}

# Pids of the daemon's children, by role (signer, resolver, proxy).
child_pids() {
	local role="$1" pid
	for pid in $(pgrep -P "$DAEMON_PID"); do
		tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q "^aibproxyd: $role" &&
		    echo "$pid"
	done
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
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
