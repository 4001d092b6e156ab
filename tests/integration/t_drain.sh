# Issue 10, readiness: /readyz answers 200 while serving and 503 from
# SIGTERM on; with timeouts.drain_delay the daemon goes on accepting and
# serving for that long (a keep-alive connection open at the signal
# included), /healthz stays 200, then it drains and exits 0.  A second
# signal stops it at once.
. "$(dirname "$0")/lib.sh"
proxy_setup

start_bridge "$BPORT" "$BLOG" || { nok "bridge starts"; exit 0; }

conf() {
	proxy_config "$T/p.yaml" "$PORT" "http://127.0.0.1:$BPORT" \
	    "timeouts: { drain_delay: $1, shutdown: 5s }"
	sed -i 's/^workers: 1$/workers: 2/' "$T/p.yaml"
}
# page PATH [LPORT]: the status of a page, from a local port if given.
page() {
	curl -sS -m 5 -o /dev/null -w '%{http_code}' ${2:+--local-port "$2"} \
	    "http://$P$1" 2>/dev/null
}
mitm() {
	curl -sS -m 10 -o /dev/null -w '%{http_code}' \
	    -x "http://coder:$TOKEN@$P" --cacert "$CA" \
	    https://api.anthropic.com/v1/messages -d '{}' 2>/dev/null
}
# wait_gone PID: until the process is gone (at most 20 s).
wait_gone() {
	local i
	for i in $(seq 1 400); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.05
	done
	return 1
}

# 1. drain_delay: 2s.
conf 2s
start_daemon "$T/p.yaml" || { nok "daemon starts"; exit 0; }
check_eq "/readyz answers 200 while serving" "$(page /readyz)" 200
check_eq "and says so" "$(curl -sS -m 5 "http://$P/readyz")" ready

# A keep-alive connection with one request served before the signal.
ka_start "$P" api.anthropic.com "$CA" "$T/go"
check "the keep-alive connection's first request is served" \
    grep -q "^1 200" "$T/ka.out"

pid=$DAEMON_PID
w0=$(child_pids "proxy 0")
w1=$(child_pids "proxy 1")
kill -TERM "$pid"
# Each worker answers for itself: each in turn is asked, from a local
# port that reaches it (worker_port), or the kernel would choose.
for w in "$w0:0" "$w1:1"; do
	ready=
	for i in $(seq 1 40); do
		ready=$(page /readyz "$(worker_port "${w%:*}")")
		[ "$ready" = 503 ] && break
		sleep 0.025
	done
	check_eq "after SIGTERM /readyz answers 503 (proxy ${w#*:})" \
	    "$ready" 503
	check_eq "with the word (proxy ${w#*:})" \
	    "$(curl -sS -m 5 --local-port "$(worker_port "${w%:*}")" \
	    "http://$P/readyz")" stopping
done
check_eq "/healthz still answers 200" "$(page /healthz)" 200
check_eq "a new intercepted request is still served" "$(mitm)" 200
touch "$T/go"
wait $KA
check "the keep-alive connection's next request is served too" \
    grep -q "^2 200" "$T/ka.out"
check "the daemon is still running" kill -0 "$pid"
check_log "the stop is logged with its delay" \
    grep -q "stopping: not ready, draining in 2.000s" "$LOG"
check "no drain has begun yet" test "$(log_count 'connections to finish')" = 0
wait_gone "$pid"
wait "$pid"; rc=$?
DAEMON_PID=
check_eq "then it drains and exits 0" "$rc" 0
check_log "each worker logged its drain after the delay" \
    test "$(log_count 'stopping: [0-9]+ connections to finish')" = 2

# 2. A second signal stops at once, the delay and the drain cut short.
conf 60s
start_daemon "$T/p.yaml" || { nok "daemon starts again"; exit 0; }
pid=$DAEMON_PID
kill -TERM "$pid"
for i in $(seq 1 40); do
	[ "$(page /readyz)" = 503 ] && break
	sleep 0.025
done
kill -TERM "$pid"
check "a second SIGTERM stops it long before drain_delay" wait_gone "$pid"
wait "$pid"
DAEMON_PID=
check "without a drain" test "$(log_count 'connections to finish')" = 0

# 3. The default, no delay: the drain begins at once.
conf 0s
start_daemon "$T/p.yaml" || { nok "daemon starts a third time"; exit 0; }
check_eq "/readyz answers 200" "$(page /readyz)" 200
pid=$DAEMON_PID
kill -TERM "$pid"
check "without drain_delay the daemon stops at once" wait_gone "$pid"
wait "$pid"; rc=$?
DAEMON_PID=
check_eq "exit 0" "$rc" 0
check "not-ready step skipped" test "$(log_count 'not ready')" = 0
