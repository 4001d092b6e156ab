# Issue 3, streaming through an interception (SPEC 4.2): SSE events
# arrive as the bridge sends them, 100 MB bodies both ways are intact,
# and a client that stops reading does not make the worker buffer the
# response.
. "$(dirname "$0")/lib.sh"
proxy_setup
RELEASE=$T/release
MB100=104857600

start_bridge "$BPORT" "$BLOG" --release "$RELEASE" ||
    { nok "bridge starts"; exit 0; }
proxy_config "$T/p.yaml" "$PORT" "http://127.0.0.1:$BPORT"
start_daemon "$T/p.yaml" || { nok "daemon starts"; exit 0; }
worker=$(child_pids proxy)

mc() {
	curl -sS --max-time 60 -x "http://coder:$TOKEN@$P" --cacert "$CA" "$@"
}
# wait_line FILE TEXT SECS: until FILE has a line TEXT.
wait_line() {
	local i
	for i in $(seq 1 $(( $3 * 20 ))); do
		grep -qx "$2" "$1" && return 0
		sleep 0.05
	done
	return 1
}

# --- SSE: event one must arrive while the bridge still holds event two.
bg_start "$T/sse.out" python3 "$(doubles)/pclient.py" sse --proxy "$P" \
    --token "$TOKEN" --cafile "$CA" --path /v1/sse --timeout 30
sse=${BG_PIDS##* }
check "SSE: the first event reaches the client before the bridge sends the second" \
    wait_line "$T/sse.out" one 5
touch "$RELEASE"
check "SSE: the second event follows once the bridge sends it" \
    wait_line "$T/sse.out" two 5
wait "$sse"
check_eq "SSE: the client saw both events, in order" \
    "$(grep -v '^#' "$T/sse.out" | tr '\n' ' ')" "one two "

# --- 100 MB up, chunked, and 100 MB down.
head -c "$MB100" /dev/urandom > "$T/up.bin"
sum=$(sha256sum < "$T/up.bin" | cut -d' ' -f1)
out=$(mc -T - -H 'Content-Type: application/octet-stream' \
    https://api.anthropic.com/v1/upload < "$T/up.bin")
rm -f "$T/up.bin"
check_eq "100 MB chunked upload: the bridge's answer" "$out" \
    "{\"len\": $MB100, \"sha256\": \"$sum\"}"
check_eq "100 MB chunked upload: the bridge's record" \
    "$(blog "$BLOG" get -1 body_len) $(blog "$BLOG" get -1 body_sha256)" \
    "$MB100 $sum"
check_eq "100 MB chunked upload: sent chunked to the bridge" \
    "$(blog "$BLOG" header -1 Transfer-Encoding)" chunked
want=$(python3 -c '
import hashlib, sys
p = bytes(range(256)) * 256
h = hashlib.sha256()
for _ in range(int(sys.argv[1]) // len(p)):
    h.update(p)
print(h.hexdigest())' "$MB100")
got=$(mc "https://api.anthropic.com/v1/download?n=$MB100" | sha256sum |
    cut -d' ' -f1)
check_eq "100 MB download: the known pattern, byte for byte" "$got" "$want"
check "the upload's audit line counts its 100 MB up" \
    grep -qE "provider anthropic PUT /v1/upload status 200 up 10[0-9]{7} " "$LOG"
check "the download's audit line counts its 100 MB down" \
    grep -qE "provider anthropic GET /v1/download status 200 up [0-9]+ down 10[0-9]{7} " "$LOG"

# --- A slow reader: 200 MB offered, the client stops for 4 s.
rss0=$(rss_kb "$worker")
bg_start "$T/slow.out" python3 "$(doubles)/pclient.py" slow --proxy "$P" \
    --token "$TOKEN" --cafile "$CA" --path '/v1/stream?n=200000000' \
    --total 200000000 --first 8388608 --pause 4 --timeout 30
slow=${BG_PIDS##* }
check "slow reader: the stream starts" \
    wait_line "$T/slow.out" "paused [0-9]*" 15
# Sample through the pause; the bridge keeps trying to write.
peak=$rss0
for i in $(seq 1 7); do
	sleep 0.5
	r=$(rss_kb "$worker")
	[ "$r" -gt "$peak" ] && peak=$r
done
echo "# worker RSS: ${rss0} kB before, ${peak} kB at most while paused"
check "slow reader: the worker's RSS grows by less than 20 MB" \
    test $(( peak - rss0 )) -lt 20480
check "slow reader: the client is still paused while sampled" \
    sh -c "! grep -q resumed '$T/slow.out'"
wait "$slow"
rc=$?
check "slow reader: resumes and gets all 200 MB, intact" \
    test "$rc" = 0 -a "$(grep '^done' "$T/slow.out")" = "done 200000000"
grep '^#' "$T/slow.out"
check "the sampled worker is the one that served the stream" \
    grep -qE "\[$worker\]: .* GET /v1/stream status 200 " "$LOG"
