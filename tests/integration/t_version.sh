# Issue 10: -V and --version print the version and the libraries', -h
# is asked-for help, a wrong option is an error, and a scrape carries
# the same version in aibproxyd_build_info.
. "$(dirname "$0")/lib.sh"
D=$(dirname "$0")/../doubles

"$AIBPROXYD" -V > "$T/v.out" 2> "$T/v.err"
check "-V exits 0" test $? = 0
check "-V writes nothing to standard error" test ! -s "$T/v.err"
VERSION=$(sed -n '1s/^aibproxyd //p' "$T/v.out")
check "-V's first line is \"aibproxyd VERSION\"" \
    sh -c "head -1 '$T/v.out' | grep -Eq '^aibproxyd [0-9A-Za-z._+-]+$'"
check "the version is the tree's (git describe or VERSION)" \
    test -n "$VERSION" -a "$VERSION" != unknown
for lib in libtls openssl libev libyaml jansson libseccomp; do
	check "-V names $lib and its version" \
	    grep -Eq "^  $lib [0-9A-Za-z]" "$T/v.out"
done
"$AIBPROXYD" --version > "$T/v2.out" 2>&1
check "--version exits 0 and prints the same" cmp -s "$T/v.out" "$T/v2.out"

"$AIBPROXYD" -h > "$T/h.out" 2> "$T/h.err"
check "-h exits 0" test $? = 0
check "-h prints the usage to standard output" \
    sh -c "grep -q '^usage: aibproxyd \[-dhnVv\] \[-f file\]$' '$T/h.out' && test ! -s '$T/h.err'"
"$AIBPROXYD" -Z > "$T/x.out" 2> "$T/x.err"
check "a wrong option exits 1" test $? = 1
check "a wrong option prints the usage to standard error only" \
    sh -c "grep -q '^usage: ' '$T/x.err' && test ! -s '$T/x.out'"

make_ca "$T/ca" rsa
PORT=$(free_port)
MPORT=$(free_port)
write_config "$T/c.yaml" "$PORT" "$(free_port)" \
    "metrics: { listen: 127.0.0.1:$MPORT }"
start_daemon "$T/c.yaml" || { nok "daemon starts"; exit 0; }
curl -sS -m 5 "http://127.0.0.1:$MPORT/metrics" > "$T/m.txt" &&
    python3 "$D/promcheck.py" "$T/m.txt" > "$T/m.json"
check "the exposition with build_info parses strictly" test $? = 0
# build_info's labels, one "name value" line each, as -V prints them.
python3 - "$T/m.json" > "$T/bi.txt" <<'PY'
import json, re, sys
found = [(k, v) for k, v in json.load(open(sys.argv[1])).items()
         if k.startswith("aibproxyd_build_info{")]
for k, v in found:
    print("value %g" % v)
    for name, val in re.findall(r'([a-z0-9_]+)="([^"]*)"', k):
        print("%s %s" % (name, val))
PY
check "one build_info series, value 1" \
    test "$(grep '^value ' "$T/bi.txt")" = "value 1"
check_eq "build_info's version is -V's" \
    "$(sed -n 's/^version //p' "$T/bi.txt")" "$VERSION"
for lib in libtls openssl libev libyaml jansson libseccomp; do
	got=$(grep "^$lib " "$T/bi.txt")
	check_eq "build_info has $lib as -V says" \
	    "${got:-none}" "$(sed -n "s/^  $lib /$lib /p" "$T/v.out")"
done
