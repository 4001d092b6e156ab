#!/bin/sh
# Install the Debian packages given as arguments that are not installed
# yet.  Does nothing on systems without dpkg (OpenBSD: see README).
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
apt-get install -y -qq --no-install-recommends $missing >/dev/null || exit 1
