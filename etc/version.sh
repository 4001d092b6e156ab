#!/bin/sh
# The version of this source tree, printed on one line, for the build
# ($(O)/version.h).  In a git checkout, git describe: the nearest tag,
# the commits since and the commit ("v0.4.0-3-g1a2b3c4"), "-dirty"
# with uncommitted changes.  A checkout with no tag yet gives the
# VERSION file and the commit ("0.4.0-g1a2b3c4").  A release tarball
# has no .git: the VERSION file alone.
cd "$(dirname "$0")/.." || exit 1
base=$(cat VERSION 2>/dev/null) || base=unknown
if [ -e .git ] && command -v git >/dev/null 2>&1; then
	if v=$(git describe --tags --dirty 2>/dev/null); then
		echo "$v"
		exit 0
	fi
	if v=$(git describe --always --dirty 2>/dev/null); then
		echo "$base-g$v"
		exit 0
	fi
fi
echo "$base"
