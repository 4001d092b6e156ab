# aibproxyd-ca: a self-signed CA with a name constraint, and the CSR
# route, both accepted by the daemon and trusted by a real client.
. "$(dirname "$0")/lib.sh"
CAH="$STAGE/sbin/aibproxyd-ca"
TOKEN=abcdefghij-0123456789012345678901

# 1. Self-signed, constrained to the provider hosts.
"$CAH" -o "$T/ca" -k p256 -N api.anthropic.com,api.openai.com >/dev/null
check "aibproxyd-ca makes a key readable by root only" \
    test "$(stat -c %a "$T/ca/ca.key")" = 400
text=$(openssl x509 -in "$T/ca/ca.crt" -noout -text)
case "$text" in *"Name Constraints: critical"*"DNS:api.anthropic.com"*"DNS:api.openai.com"*)
	ok "the CA carries a critical name constraint for the providers" ;;
*)	nok "the CA carries a critical name constraint for the providers" ;;
esac
"$CAH" -o "$T/ca" >/dev/null 2>&1
check "aibproxyd-ca never overwrites a CA key" test $? = 1

# A leaf outside the constraint fails verification: what a stolen key buys.
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$T/evil.key" -out "$T/evil.csr" -subj "/CN=bank.example" 2>/dev/null
printf 'subjectAltName=DNS:bank.example\n' > "$T/evil.ext"
openssl x509 -req -in "$T/evil.csr" -CA "$T/ca/ca.crt" -CAkey "$T/ca/ca.key" \
    -CAcreateserial -days 1 -extfile "$T/evil.ext" -out "$T/evil.crt" 2>/dev/null
out=$(openssl verify -CAfile "$T/ca/ca.crt" "$T/evil.crt" 2>&1)
case "$out" in *"permitted subtree violation"*) ok "an out-of-scope leaf is rejected by the constraint";;
*) nok "an out-of-scope leaf is rejected by the constraint (got: $out)";; esac

PORT=$(free_port)
BPORT=$(free_port)
python3 "$(dirname "$0")/../doubles/bridge.py" --port "$BPORT" --log "$T/bridge.log" >/dev/null 2>&1 &
BRIDGE=$!
trap 'kill $BRIDGE 2>/dev/null; cleanup' EXIT
for i in $(seq 1 100); do
	ss -ltn "sport = :$BPORT" | grep -q LISTEN && break
	sleep 0.05
done
write_config "$T/c.yaml" "$PORT" "$BPORT"
start_daemon "$T/c.yaml" || nok "daemon starts with the constrained CA"
out=$(curl -sS -m 10 -x "http://coder:$TOKEN@127.0.0.1:$PORT" --cacert "$T/ca/ca.crt" \
    https://api.anthropic.com/v1/messages -d '{}' 2>&1)
case "$out" in *'"path": "/api/v2/aibridge/anthropic/v1/messages"'*)
	ok "a client trusting the constrained CA gets its request answered";;
*)	nok "a client trusting the constrained CA gets its request answered (got: $out)";; esac
stop_daemon

# 2. The CSR route, signed by a corporate root as seed 001 does.
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -keyout "$T/corp.key" \
    -out "$T/corp.crt" -subj "/CN=Corporate Root" 2>/dev/null
# Constrained to both providers of c.yaml: a provider the constraint
# leaves out is refused at start (t_configtest).
"$CAH" -c -o "$T/csr" -k rsa2048 -s "/CN=AI Proxy CA" \
    -N api.anthropic.com,api.openai.com >/dev/null
check "aibproxyd-ca -c writes a CSR and the extensions file" \
    test -s "$T/csr/ca.csr" -a -s "$T/csr/ca_extensions.cnf"
openssl x509 -req -in "$T/csr/ca.csr" -CA "$T/corp.crt" -CAkey "$T/corp.key" \
    -CAcreateserial -days 30 -extfile "$T/csr/ca_extensions.cnf" \
    -out "$T/csr/signed.crt" 2>/dev/null
cat "$T/csr/signed.crt" "$T/corp.crt" > "$T/csr/chain.crt"
sed -e "s|$T/ca/ca.crt|$T/csr/chain.crt|" -e "s|$T/ca/ca.key|$T/csr/ca.key|" \
    "$T/c.yaml" > "$T/c2.yaml"
start_daemon "$T/c2.yaml" || nok "daemon starts with the corporate-signed CA"
out=$(curl -sS -m 10 -x "http://coder:$TOKEN@127.0.0.1:$PORT" --cacert "$T/corp.crt" \
    https://api.anthropic.com/v1/messages -d '{}' 2>&1)
case "$out" in *'"path": "/api/v2/aibridge/anthropic/v1/messages"'*)
	ok "a client trusting only the corporate root gets its request answered";;
*)	nok "a client trusting only the corporate root gets its request answered (got: $out)";; esac
