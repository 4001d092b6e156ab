# Issue 11, row 8: a worker that has gone quiet gives its free heap
# back.  One worker holds 400 intercepted connections, each with one
# request answered; the client closes the 300 it opened first, which
# leaves their heap free below the 100 it keeps.  free(3) gives none
# of that back (the worker keeps the top of its heap); once the worker
# has been quiet for a second, malloc_trim(3) gives back its pages and
# the worker says how much at the debug level.
. "$(dirname "$0")/lib.sh"
proxy_setup
OPEN=400
CLOSE=300

start_bridge "$BPORT" "$BLOG" || { nok "bridge starts"; exit 0; }
proxy_config "$T/p.yaml" "$PORT" "http://127.0.0.1:$BPORT"
start_daemon "$T/p.yaml" || { nok "daemon starts"; exit 0; }
worker=$(child_pids proxy)
if grep -q "the allocator keeps no freed heap" "$LOG"; then
	ok "# skip another allocator (SANITIZE=1): no heap to give back"
	exit 0
fi

# The client: OPEN connections, one POST answered on each, then the
# first CLOSE closed; "held N" once done; holds the rest until killed.
bg_start "$T/idle.out" python3 "$(doubles)/kaclient.py" --proxy "$P" \
    --token "$TOKEN" --cafile "$CA" --host api.anthropic.com \
    --path /v1/messages --hold "$OPEN" --close "$CLOSE"
# 60 s at most: 400 handshakes.
check "the client holds $((OPEN - CLOSE)) connections, each answered once" \
    wait_line "$T/idle.out" "^held $((OPEN - CLOSE))$" 0 60
# The trim that counts comes after the last of the closes.
closed() { grep -cE "proxy 0: conn [0-9]+ .*: closed" "$LOG"; }
for i in $(seq 1 200); do
	[ "$(closed)" -ge "$CLOSE" ] && break
	sleep 0.05
done
last=$(grep -nE "proxy 0: conn [0-9]+ .*: closed" "$LOG" | tail -1 | cut -d: -f1)
check_log "quiet, the worker trims its heap and says so" \
    wait_log "proxy 0: quiet: heap trimmed" "$last" 10
line=$(tail -n +"$((last + 1))" "$LOG" | grep "quiet: heap trimmed" | head -1)
echo "# $line"
set -- $(echo "$line" |
    sed -n 's/.*resident \([0-9]*\) -> \([0-9]*\) KiB (\([0-9]*\) KiB given back).*/\1 \2 \3/p')
before=${1:-0} after=${2:-0} back=${3:-0}
# 300 connections of about 16 KiB each: some 4.7 MiB below the top.
check "it gave back at least 2 MiB of the closed connections' heap" \
    test "$back" -ge 2048
now=$(rss_kb "$worker")
echo "# worker VmRSS ${now} kB now"
check "the worker's VmRSS agrees: below what it was before the trim" \
    test "$now" -le $(( before - back / 2 ))
check_eq "the worker still serves once trimmed" \
    "$(curl -sS --max-time 20 -x "http://coder:$TOKEN@$P" --cacert "$CA" \
    -o /dev/null -w '%{http_code}' -d '{}' \
    https://api.anthropic.com/v1/messages)" 200
