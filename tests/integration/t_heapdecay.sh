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
cat > "$T/idle.py" <<'PY'
import base64, socket, ssl, sys, time
proxy, token, ca, n, close = sys.argv[1:4] + [int(a) for a in sys.argv[4:]]
host, port = proxy.rsplit(":", 1)
cred = base64.b64encode(("coder:" + token).encode()).decode()
ctx = ssl.create_default_context(cafile=ca)
body = b'{"model": "m", "max_tokens": 1}'

def answered(t):
    data = b""
    while b"\r\n\r\n" not in data:
        data += t.recv(65536)
    head, rest = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(rest) < length:
        rest += t.recv(65536)
    return head.split(b" ")[1] == b"200"

held = []
for _ in range(n):
    s = socket.create_connection((host, int(port)), timeout=20)
    s.sendall(("CONNECT api.anthropic.com:443 HTTP/1.1\r\n"
               "Host: api.anthropic.com:443\r\n"
               "Proxy-Authorization: Basic %s\r\n\r\n" % cred).encode())
    r = b""
    while b"\r\n\r\n" not in r:
        r += s.recv(4096)
    t = ctx.wrap_socket(s, server_hostname="api.anthropic.com")
    t.sendall(b"POST /v1/messages HTTP/1.1\r\nHost: api.anthropic.com\r\n"
              b"Content-Type: application/json\r\n"
              b"Content-Length: %d\r\n\r\n" % len(body) + body)
    if not answered(t):
        print("refused")
        sys.exit(1)
    held.append(t)
for t in held[:close]:
    t.close()
print("held", len(held) - close, flush=True)
time.sleep(600)
PY
bg_start "$T/idle.out" python3 "$T/idle.py" "$P" "$TOKEN" "$CA" "$OPEN" "$CLOSE"
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
