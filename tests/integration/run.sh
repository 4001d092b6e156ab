#!/bin/sh
# Run every integration test (tests/integration/t_*.sh) against the
# staged install, as root, and print one closing line:
#	N passed, N failed
# Each test prints "ok - ..." or "not ok - ..." lines.
#
# Nothing a test does leaves the machine: the suite runs in a network
# namespace of its own with only the loopback interface up, and in a
# private mount namespace whose /etc/resolv.conf names 127.0.0.1 alone,
# so a name that is not in /etc/hosts fails at once and locally.
# t_netns.sh checks both.  The packages (make deps) must be installed
# before: nothing can be fetched from in here.
#
#	ONLY=name	run the tests whose file name contains name
#	HOSTS_FILE=file	bind file over /etc/hosts for the whole run (to run
#			the suite with another shape of the hosts file)
here=$(cd "$(dirname "$0")" && pwd)
if [ "$(id -u)" -ne 0 ]; then
	echo "integration tests start the daemon as root: run them as root" >&2
	exit 1
fi

if [ -z "${AIB_IT_NETNS:-}" ]; then
	if ! unshare --net --mount --propagation private true; then
		echo "run.sh: unshare --net --mount failed: the suite needs" \
		    "a network and a mount namespace of its own (in a chroot," \
		    "its root must be a mount point: bind it onto itself)" >&2
		exit 1
	fi
	AIB_IT_NETNS=1 exec unshare --net --mount --propagation private \
	    sh "$here/run.sh" "$@"
fi

# Inside the namespaces.
if ! ip link set lo up; then
	echo "run.sh: cannot bring up lo in the test namespace" >&2
	exit 1
fi
out=$(mktemp -d /tmp/aib-it.XXXXXX)
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' > "$out/resolv.conf"
chmod 0644 "$out/resolv.conf"
# With no /etc/resolv.conf at all, glibc asks 127.0.0.1 anyway.
if [ -e /etc/resolv.conf ] &&
    ! mount --bind "$out/resolv.conf" /etc/resolv.conf; then
	echo "run.sh: cannot bind a loopback resolv.conf" >&2
	exit 1
fi
if [ -n "${HOSTS_FILE:-}" ]; then
	if ! { cp "$HOSTS_FILE" "$out/hosts" && chmod 0644 "$out/hosts" &&
	    mount --bind "$out/hosts" /etc/hosts; }; then
		echo "run.sh: cannot bind $HOSTS_FILE over /etc/hosts" >&2
		exit 1
	fi
	echo "# /etc/hosts is $HOSTS_FILE for this run"
fi
echo "# network namespace: $(ip -o link show | awk -F': ' '{ printf "%s ", $2 }')only; resolver: 127.0.0.1"

pass=0 fail=0
for t in "$here"/t_*.sh; do
	[ -n "${ONLY:-}" ] && case "$t" in *"$ONLY"*) ;; *) continue ;; esac
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
