#!/bin/sh
# Install the Debian packages given as arguments that are not installed
# yet.  Does nothing on systems without dpkg (OpenBSD: see README).
#
# Some of them (squid-openssl, haproxy, prometheus, nginx-light) are
# wanted for their programs only: the tests and the benchmarks start
# their own instances.  Their services are not started on installation
# (a policy-rc.d(8) that answers 101, "action forbidden", for the time
# of the install, unless the machine already has one), so that
# `make check` on a workstation opens no port of its own.
command -v dpkg-query >/dev/null 2>&1 || exit 0
missing=
for p in "$@"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing Debian packages:$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "need root to install packages:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq || exit 1
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# make deps (aibproxyd): no service starts\nexit 101\n' \
	    > "$policy" && chmod 0755 "$policy" || exit 1
	trap 'rm -f "$policy"' EXIT
fi
apt-get install -y -qq --no-install-recommends $missing >/dev/null || exit 1
services=
for p in $missing; do
	case "$p" in
	squid-openssl) services="$services squid" ;;
	haproxy|prometheus|nginx-light) services="$services ${p%-light}" ;;
	esac
done
[ -n "$services" ] && echo "installed for their programs only; these" \
    "services were not started, but start at boot unless disabled" \
    "(systemctl disable$services):$services"
exit 0
