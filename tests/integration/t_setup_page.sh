# Issue 10, client setup: GET / on the listener as curl and a browser
# see it (plain text or HTML with its security headers), the proxy URL
# from a valid Host header and never from a hostile one, the
# fingerprint as openssl prints it, and the page's own commands run as
# written: they fetch the CA and reach the bridge through the proxy.
. "$(dirname "$0")/lib.sh"
proxy_setup

start_bridge "$BPORT" "$BLOG" || { nok "bridge starts"; exit 0; }
proxy_config "$T/p.yaml" "$PORT" "http://127.0.0.1:$BPORT"
start_daemon "$T/p.yaml" || { nok "daemon starts"; exit 0; }

page() { curl -sS --max-time 5 "$@"; }

# --- curl: plain text.
code=$(page -D "$T/text.head" -o "$T/text" -w '%{http_code}' "http://$P/")
check_eq "GET / answers 200" "$code" 200
check "curl gets text/plain; charset=utf-8" \
    grep -qi '^Content-Type: text/plain; charset=utf-8' "$T/text.head"
check "the text page has nosniff" \
    grep -qi '^X-Content-Type-Options: nosniff' "$T/text.head"
check "the proxy URL is this listener's" \
    grep -qF "Proxy URL:          http://$P/" "$T/text"
check "the page names the intercepted hosts" \
    grep -qF "Intercepted hosts:  api.anthropic.com, api.openai.com" "$T/text"
check "the page holds no markup" sh -c "! grep -q '<' '$T/text'"

# --- The fingerprint, as openssl prints it from the served certificate.
page -o "$T/served.pem" "http://$P/ca-cert.pem"
want=$(openssl x509 -noout -fingerprint -sha256 -in "$T/served.pem" |
    sed 's/^[^=]*=//')
got=$(sed -n 's/^    CA SHA-256: *//p' "$T/text")
check_eq "the fingerprint is openssl's" "$got" "$want"
want=$(openssl x509 -noout -fingerprint -sha256 -in "$CA" | sed 's/^[^=]*=//')
check_eq "... of the configured CA" "$got" "$want"

# --- Host: a valid one names the listener, anything else does not.
page -H 'Host: Proxy.Example.COM:3128' -o "$T/named" "http://$P/"
check "a valid Host names the proxy URL" \
    grep -qF 'Proxy URL:          http://proxy.example.com:3128/' "$T/named"
for h in '<script>alert(1)</script>' 'x"><img src=y>' 'evil.example/x:80'; do
	for accept in '*/*' 'text/html'; do
		page -H "Host: $h" -H "Accept: $accept" -o "$T/hostile" \
		    "http://$P/"
		check "Host $h ($accept) never reaches the page" \
		    sh -c "! grep -qE 'script|img|evil' '$T/hostile' &&
		    grep -qF 'http://$P/' '$T/hostile'"
	done
done

# --- A browser: HTML with the security headers.
page -H 'Accept: text/html,application/xhtml+xml,*/*;q=0.8' \
    -D "$T/html.head" -o "$T/html" "http://$P/"
check "a browser gets text/html; charset=utf-8" \
    grep -qi '^Content-Type: text/html; charset=utf-8' "$T/html.head"
check "the HTML has a strict Content-Security-Policy" \
    grep -qi "^Content-Security-Policy: default-src 'none'" "$T/html.head"
check "the HTML has nosniff" \
    grep -qi '^X-Content-Type-Options: nosniff' "$T/html.head"
check "the HTML links the CA certificate" \
    grep -qF '<a href="/ca-cert.pem">' "$T/html"
check "the HTML has no script" sh -c "! grep -qi '<script' '$T/html'"

# --- HEAD: the same head, no body.
len=$(page -I "http://$P/" | tr -d '\r' | sed -n 's/^Content-Length: //Ip')
check_eq "HEAD / gives GET's Content-Length" "$len" \
    "$(wc -c < "$T/text" | tr -d ' ')"

# --- The page's commands, run as written.
mkdir -p "$T/home"
cmds() {	# the literal lines of the block after heading $1
	awk -v h="$1" '$0 == h { f = 1; next }
	    f && /^    / { print substr($0, 5); seen = 1; next }
	    f && seen { exit }' "$T/text"
}
cmds 'The CA certificate' > "$T/fetch.sh"
HOME=$T/home sh "$T/fetch.sh" > "$T/fetch.out" 2>&1
check "the page's fetch saves the served certificate" \
    cmp -s "$T/home/.aibproxyd-ca.pem" "$T/served.pem"
check_eq "and openssl prints the fingerprint the page shows" \
    "$(sed 's/^[^=]*=//' "$T/fetch.out")" "$got"
cmds 'Claude Code' > "$T/env.sh"
echo 'curl -sS --max-time 10 --cacert "$NODE_EXTRA_CA_CERTS"' \
    'https://api.anthropic.com/v1/models' >> "$T/env.sh"
HOME=$T/home CODER_TOKEN=$TOKEN sh "$T/env.sh" > "$T/env.out" 2>&1
check "Claude Code's HTTPS_PROXY reaches the bridge" \
    grep -qF '"path": "/api/v2/aibridge/anthropic/v1/models"' "$T/env.out"
cmds 'curl' > "$T/curl.sh"
HOME=$T/home CODER_TOKEN=$TOKEN sh "$T/curl.sh" > "$T/curl.out" 2>&1
check "the page's curl line reaches the bridge" \
    grep -qF '"path": "/api/v2/aibridge/anthropic/v1/models"' "$T/curl.out"
check "the bridge saw the token as the bearer" \
    grep -qF "Bearer $TOKEN" "$BLOG"

stop_daemon
sanitizer_scan
sandbox_scan
