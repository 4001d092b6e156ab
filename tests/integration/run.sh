#!/bin/sh
# Run every integration test (tests/integration/t_*.sh) against the
# staged install, as root, and print one closing line:
#	N passed, N failed
# Each test prints "ok - ..." or "not ok - ..." lines.
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
	echo "integration tests start the daemon as root: run them as root" >&2
	exit 1
fi
out=$(mktemp -d /tmp/aib-it.XXXXXX)
pass=0 fail=0
for t in "$here"/t_*.sh; do
	[ -n "$ONLY" ] && case "$t" in *"$ONLY"*) ;; *) continue ;; esac
	name=$(basename "$t" .sh)
	echo "== $name"
	bash "$t" 2>&1 | tee "$out/$name.log"
	p=$(grep -c '^ok - ' "$out/$name.log")
	f=$(grep -c '^not ok - ' "$out/$name.log")
	# A test script that dies before reporting anything has failed.
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $name reported nothing"
		f=1
	fi
	pass=$((pass + p)) fail=$((fail + f))
done
rm -rf "$out"
echo "integration: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
