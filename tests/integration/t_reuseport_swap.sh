# A reload that moves the metrics listener onto an address a proxy
# listener held (and the proxy listener onto the metrics' one): the
# address kept its group of one socket per worker, yet only worker 0
# serves the metrics, from one of them.  The kernel still spread new
# connections over all of the group, and those queued on a socket no
# worker accepts from waited for ever.  The group must shrink to the
# one socket served.
. "$(dirname "$0")/lib.sh"

make_ca "$T/ca" rsa
PORT=$(free_port)
BPORT=$(free_port)
MPORT=$(free_port)
write_config "$T/c.yaml" "$PORT" "$BPORT" \
    "metrics: { listen: 127.0.0.1:$MPORT }" "log: { level: debug }"
sed -i 's/^workers: 2$/workers: 3/' "$T/c.yaml"
start_daemon "$T/c.yaml" || { nok "daemon starts"; exit 0; }

listeners() {
	ss -Hltn "sport = :$1" | wc -l
}
check_eq "three sockets listen on the proxy's address" "$(listeners "$PORT")" 3

sed -i "s/127.0.0.1:$PORT\$/127.0.0.1:SWAP/; s/127.0.0.1:$MPORT }/127.0.0.1:$PORT }/; s/127.0.0.1:SWAP\$/127.0.0.1:$MPORT/" \
    "$T/c.yaml"
check "a reload swaps the proxy's and the metrics' addresses" reload_daemon
check_settles "one socket listens for the metrics now" 1 listeners "$PORT"

# With 3 sockets and one served, 16 scrapes all answered by chance:
# (1/3)^16, 2e-8.
ok=0
for i in $(seq 1 16); do
	code=$(curl -s -o /dev/null -w '%{http_code}' -m 3 \
	    "http://127.0.0.1:$PORT/metrics")
	[ "$code" = 200 ] && ok=$((ok + 1))
done
check_eq "every scrape on the metrics' new address is answered" "$ok" 16
code=$(curl -s -o /dev/null -w '%{http_code}' -m 3 \
    "http://127.0.0.1:$MPORT/healthz")
check_eq "the proxy serves on its new address" "$code" 200
