#!/bin/sh
# make run: a development aibproxyd on 127.0.0.1:8888 in the foreground,
# with a CA made for it and the test bridge from tests/ behind it.
# Everything it makes lives in ./run (delete it to start afresh).
set -eu
: "${STAGE:?}"
top=$(pwd)
dir="$top/run"
port=8888
bport=8081
token="devtoken00-0123456789abcdefghijkl"

if [ "$(id -u)" -ne 0 ]; then
	echo "make run: the daemon starts as root and drops privileges itself;" >&2
	echo "run it as root (sudo make run)." >&2
	exit 1
fi
mkdir -p "$dir"
chmod 0755 "$dir"
if [ ! -f "$dir/ca.key" ]; then
	echo "making a development CA in $dir"
	openssl genrsa -out "$dir/ca.key" 2048 2>/dev/null
	chmod 0400 "$dir/ca.key"
	openssl req -new -x509 -days 30 -key "$dir/ca.key" -out "$dir/ca.crt" \
	    -subj "/CN=aibproxyd development CA" 2>/dev/null
fi
cat > "$dir/aibproxyd.yaml" <<YAML
# Written by make run; edit etc/dev-run.sh rather than this file.
workers: 2
listen:
  - address: 127.0.0.1:$port
ca:
  cert: $dir/ca.crt
  key: $dir/ca.key
bridge:
  url: http://127.0.0.1:$bport
providers:
  - { name: anthropic, host: api.anthropic.com }
  - { name: openai, host: api.openai.com }
  - { name: copilot, host: api.individual.githubcopilot.com, type: copilot }
log: { level: info }
YAML
"$STAGE/sbin/aibproxyd" -n -f "$dir/aibproxyd.yaml"

python3 "$top/tests/doubles/bridge.py" --port "$bport" \
    --log "$dir/bridge.log" >/dev/null &
bridge=$!
trap 'kill $bridge 2>/dev/null' EXIT INT TERM

cat <<MSG

aibproxyd listens on 127.0.0.1:$port; the test bridge on 127.0.0.1:$bport
records what it receives in $dir/bridge.log.  In another shell:

  curl -x http://coder:$token@127.0.0.1:$port \\
      --cacert $dir/ca.crt https://api.anthropic.com/v1/messages \\
      -H 'Content-Type: application/json' -d '{"messages":[]}'

It prints the bridge's answer, {"ok": true, "path": "/api/v2/aibridge/anthropic/v1/messages"}.
Ctrl-C stops both.

MSG
"$STAGE/sbin/aibproxyd" -d -f "$dir/aibproxyd.yaml"
