# Issue 12: the CA key in a PKCS#11 token.  SoftHSM2 with a token
# directory of the test's own (SOFTHSM2_CONF, which the parent passes to
# signerd alone); aibproxyd-ca generates the key in the token and signs
# the CA certificate there; the daemon signs leaves with it, reloads,
# and says clearly why it cannot start with a wrong PIN or URI.  No file
# holds the key.
. "$(dirname "$0")/lib.sh"
MODULE=/usr/lib/softhsm/libsofthsm2.so
PIN=2468-test-pin
TOKEN=abcdef1234-S3cretS3cretS3cretS3c12
if [ ! -e "$MODULE" ] || ! command -v pkcs11-tool >/dev/null; then
	nok "softhsm2 and opensc are installed (make deps)"
	exit 0
fi

# The token: in $T/hsm, readable by signerd's user after the drop,
# since SoftHSM2 reads an object's file each time the key is used.
H=$T/hsm
mkdir -p "$H/tokens"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' \
    "$H/tokens" > "$H/softhsm2.conf"
export SOFTHSM2_CONF=$H/softhsm2.conf
softhsm2-util --init-token --free --label aibproxyd --pin "$PIN" \
    --so-pin 13579-so >/dev/null 2>&1
( umask 077; printf '%s\n' "$PIN" > "$T/hsm.pin"; printf 'wrong-pin\n' > "$T/bad.pin" )
out=$("$STAGE/sbin/aibproxyd-ca" --pkcs11 "$MODULE" --token aibproxyd \
    --pin-file "$T/hsm.pin" --object mitm-ca -k p256 -o "$T/ca" 2>&1)
check "aibproxyd-ca --pkcs11 makes a CA whose key is in the token" \
    test -s "$T/ca/ca.crt" -a ! -e "$T/ca/ca.key"
out=$("$STAGE/sbin/aibproxyd-ca" --pkcs11 "$MODULE" --token aibproxyd \
    --pin-file "$T/hsm.pin" --object mitm-ca -k p256 -o "$T/ca2" 2>&1); rc=$?
check_eq "aibproxyd-ca does not overwrite a key in the token" "$rc: $out" \
    "1: aibproxyd-ca: token aibproxyd already holds a key labelled mitm-ca; not overwriting a CA key"
chown -R _aibsignerd "$H/tokens"

p11objs() {
	pkcs11-tool --module "$MODULE" --token-label aibproxyd --login \
	    --pin "$PIN" --list-objects --type privkey 2>/dev/null
}
check_eq "the token holds one private key" \
    "$(p11objs | grep -c '^Private Key Object')" 1
check "it is sensitive and was never extractable" \
    sh -c 'printf "%s\n" "$1" | grep -q "never extractable"' sh "$(p11objs)"

PORT=$(free_port)
BPORT=$(free_port)
P=127.0.0.1:$PORT
# conf FILE KEY [PINFILE] [extra yaml]
conf() {
	cat > "$1" <<YAML
workers: 1
listen: [ { address: $P } ]
ca:
  cert: $T/ca/ca.crt
  key: "$2"
  pkcs11:
    module: $MODULE
    pin_file: ${3:-$T/hsm.pin}
bridge: { url: "http://127.0.0.1:$BPORT" }
providers:
  - { name: anthropic, host: api.anthropic.com }
YAML
	[ -z "${4:-}" ] || printf '%s\n' "$4" >> "$1"
}
URI="pkcs11:token=aibproxyd;object=mitm-ca"

# Configuration errors name file:line; -n checks files and syntax only.
conf "$T/junk.yaml" "pkcs11:object=mitm-ca"
out=$("$AIBPROXYD" -n -f "$T/junk.yaml" 2>&1); rc=$?
check_eq "-n: a URI without a token is refused at its line" "$rc: $out" \
    "1: $T/junk.yaml:5: ca.key: PKCS#11 URI names no token (token=)"
conf "$T/junk.yaml" "pkcs11:token=aibproxyd;object=mitm-ca?pin-value=$PIN"
out=$("$AIBPROXYD" -n -f "$T/junk.yaml" 2>&1); rc=$?
check_eq "-n: a PIN in the URI is refused, and not repeated" "$rc: $out" \
    "1: $T/junk.yaml:5: ca.key: PKCS#11 URI has a query (?...): give the PIN in ca.pkcs11.pin_file and the module in ca.pkcs11.module"
conf "$T/nomod.yaml" "$URI"
sed -i '/pkcs11:$/,/pin_file:/d' "$T/nomod.yaml"
out=$("$AIBPROXYD" -n -f "$T/nomod.yaml" 2>&1); rc=$?
check_eq "-n: a URI without ca.pkcs11 is refused" "$rc: $out" \
    "1: $T/nomod.yaml:5: ca.key: a PKCS#11 URI needs ca.pkcs11 (module and pin_file)"
conf "$T/good.yaml" "$URI"
out=$("$AIBPROXYD" -n -f "$T/good.yaml" 2>&1); rc=$?
check_eq "-n on a token configuration" "$rc: $out" "0: configuration OK"

# A wrong PIN, token or object: start-up fails with the token's reason.
startfail() {
	"$AIBPROXYD" -d -f "$1" > "$T/fail.log" 2>&1
	echo "$?: $(grep -o 'signer refused the configuration: .*' "$T/fail.log")"
}
conf "$T/badpin.yaml" "$URI" "$T/bad.pin"
check_eq "a wrong PIN is a clear start-up error" "$(startfail "$T/badpin.yaml")" \
    '1: signer refused the configuration: PKCS#11 login to token "aibproxyd" failed: PIN incorrect'
conf "$T/badtok.yaml" "pkcs11:token=nosuch;object=mitm-ca"
check_eq "a wrong token is a clear start-up error" "$(startfail "$T/badtok.yaml")" \
    "1: signer refused the configuration: no PKCS#11 token labelled \"nosuch\" in $MODULE"
conf "$T/badobj.yaml" "pkcs11:token=aibproxyd;object=nosuch"
check_eq "a wrong object is a clear start-up error" "$(startfail "$T/badobj.yaml")" \
    '1: signer refused the configuration: no private key labelled "nosuch" in PKCS#11 token "aibproxyd"'
check "the PIN is in no log" sh -c '! grep -rq -- "$1" "$2"/*.log' sh "$PIN" "$T"

# The daemon signs leaves with the token key; clients verify them.
start_bridge "$BPORT" "$T/bridge.log" || { nok "bridge starts"; exit 0; }
trap 'bg_stop_all; cleanup' EXIT
start_daemon "$T/good.yaml" || { nok "daemon starts with a pkcs11: key"; exit 0; }
ok "daemon starts with a pkcs11: key"
SIGNER=$(child_pids signer)
check_eq "signerd runs as _aibsignerd" "$(proc_users "$SIGNER")" \
    "_aibsignerd _aibsignerd _aibsignerd _aibsignerd"
mitm() {
	curl -sS -m 20 -o /dev/null -w '%{http_code}' -d '{}' \
	    -x "http://coder:$TOKEN@$P" --cacert "$T/ca/ca.crt" \
	    https://api.anthropic.com/v1/messages
}
check_eq "an intercepted request verifies against the CA certificate" \
    "$(mitm)" 200
check "signerd logged the leaf it issued" \
    grep -q "issued certificate for api.anthropic.com" "$LOG"

# Reload: the same key again; then a URI naming no key fails clearly
# and the running configuration keeps signing.
hup() {
	local n i
	n=$(grep -c "parent: reloaded\|reload failed" "$LOG")
	kill -HUP "$DAEMON_PID"
	for i in $(seq 1 100); do
		[ "$(grep -c "parent: reloaded\|reload failed" "$LOG")" -gt "$n" ] && return
		sleep 0.05
	done
}
hup
check_eq "SIGHUP reloads with the token key" "$(grep -c 'parent: reloaded' "$LOG")" 1
check_eq "and leaves are still signed" "$(mitm)" 200
conf "$T/good.yaml" "pkcs11:token=aibproxyd;object=gone"
hup
check "a reload naming no key in the token fails" grep -q \
    'signer refused the configuration: no private key labelled "gone" in PKCS#11 token "aibproxyd"' "$LOG"
check "and says the running configuration stays" grep -q \
    "reload failed, keeping the running configuration" "$LOG"
check_eq "which still signs" "$(mitm)" 200

# No file holds the key in the clear: no PEM or DER private key in the
# test's files or the daemon's; the token's object file is encrypted
# with a key derived from the PIN (SoftHSM2), so it has no PEM either.
check "no private key in any file of the test" \
    sh -c '! grep -rlq -- "PRIVATE KEY" "$1"' sh "$T"
check "signerd's memory map holds no key file" \
    sh -c '! grep -q "\.key\$" "/proc/$1/maps"' sh "$SIGNER"
check "the PIN is in no log of the running daemon" \
    sh -c '! grep -q -- "$1" "$2"' sh "$PIN" "$LOG"
stop_daemon
