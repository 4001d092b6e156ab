# Issue 5: log.dump_dir writes each intercepted request and response,
# 0600 files in 0700 directories, with every credential fully masked.
. "$(dirname "$0")/lib.sh"
TOKEN=abcdefghij-0123456789012345678901
CLIENTKEY=sk-ant-client-secret-key-0123456789
D=$(dirname "$0")/../doubles

make_ca "$T/ca" rsa
PORT=$(free_port)
BPORT=$(free_port)
python3 "$D/bridge.py" --port "$BPORT" --log "$T/bridge.log" >/dev/null 2>&1 &
BRIDGE=$!
trap 'kill $BRIDGE 2>/dev/null; cleanup' EXIT
wait_port "$BPORT"
write_config "$T/c.yaml" "$PORT" "$BPORT" "log: { dump_dir: $T/dumps }"
start_daemon "$T/c.yaml" || { nok "daemon starts"; exit 0; }

out=$(curl -sS -m 10 -x "http://coder:$TOKEN@127.0.0.1:$PORT" \
    --cacert "$T/ca/ca.crt" https://api.anthropic.com/v1/messages \
    -H "X-Api-Key: $CLIENTKEY" -H "Cookie: session=cookie-secret" \
    -d '{"prompt":"dump me"}')
case "$out" in *'"ok": true'*) ok "the request is answered";;
*) nok "the request is answered (got: $out)";; esac
sleep 0.3

check "the dump directory is 0700, owned by the workers' user" \
    test "$(stat -c '%a %U' "$T/dumps")" = "700 _aibproxyd"
check "each provider has a 0700 directory" \
    test "$(stat -c '%a' "$T/dumps/anthropic" 2>/dev/null)" = 700
req=$(ls "$T"/dumps/anthropic/*.req.txt 2>/dev/null | head -1)
resp=$(ls "$T"/dumps/anthropic/*.resp.txt 2>/dev/null | head -1)
check "a request and a response file were written" test -n "$req" -a -n "$resp"
check "the files are 0600" \
    test "$(stat -c %a "$req") $(stat -c %a "$resp")" = "600 600"
id=$(grep -o 'request [0-9a-f-]\{36\}' "$LOG" | head -1 | cut -d' ' -f2)
check "files are named by the request id in the audit line" \
    test "$(basename "$req")" = "$id.req.txt"
check "the request dump has the bridge path" \
    grep -q "^POST /api/v2/aibridge/anthropic/v1/messages HTTP/1.1" "$req"
check "the request dump has the body" grep -q '{"prompt":"dump me"}' "$req"
check "credentials are masked" \
    sh -c "grep -q '^X-Coder-AI-Governance-Token: \[masked\]' '$req' && grep -q '^X-Api-Key: \[masked\]' '$req' && grep -q '^Cookie: \[masked\]' '$req'"
leaks=$(cat "$T"/dumps/anthropic/* | grep -c -e "$TOKEN" -e "$CLIENTKEY" -e cookie-secret)
check "no secret appears anywhere in the dumps, not even in part" test "$leaks" = 0
check "the response dump has the status line and the body" \
    sh -c "grep -q '^HTTP/1.1 200' '$resp' && grep -q '\"ok\": true' '$resp'"
