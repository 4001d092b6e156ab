#!/bin/sh
# Benchmarks (make bench): the staged daemon measured against the same
# work done directly and through Squid, in one run, all on 127.0.0.1.
# Prints one block per benchmark and a summary table; a missed target
# says MISSED and still exits 0 (1 only when a benchmark could not run
# at all).  The work is done by bench.py, scale.py (rows 8-11), squid.py,
# peers.py and crowd.py next to this file, and row 7's floor relay
# (floor.c, built into O/tests/bench/floor).
#
#	O=obj STAGE=obj/stage sh tests/bench/run.sh
#	BENCH_ONLY=1b,3,7	run only those benchmarks (1 = 1a and 1b)
#	BENCH_SECONDS=10	length of each timed run
#	BENCH_SQUID=0		no Squid column
#	BENCH_SQUID_WORKERS=2	Squid's workers where a row says nothing (1)
#	BENCH_RATE=1000		row 9: requests a second over all connections
#	BENCH_PERF=1		profile the proxy workers during the hey runs
#	KEEP=1			keep the temporary directory
#	BENCH_DEBUG=1		a traceback when a benchmark fails
here=$(cd "$(dirname "$0")" && pwd)
: "${STAGE:?STAGE must name the staged install}"
if [ "$(id -u)" -ne 0 ]; then
	echo "benchmarks start the daemon as root: run them as root" >&2
	exit 1
fi
for c in hey nginx curl openssl; do
	if ! command -v "$c" >/dev/null 2>&1; then
		echo "bench: $c is missing (make bench installs it)" >&2
		exit 1
	fi
done
# Row 7's yardstick relay (floor.c), built into O like the rest; make
# bench has built it, this is for a run after make stage alone.
repo=$(cd "$here/../.." && pwd)
floor=
if [ -n "${O:-}" ]; then
	case $O in
	/*)	floor=$O/tests/bench/floor ;;
	*)	floor=$repo/$O/tests/bench/floor ;;
	esac
	[ -x "$floor" ] || make -s -C "$repo" --no-print-directory O="$O" \
	    "$O/tests/bench/floor" >&2 || echo "bench: no floor relay" >&2
fi
# The Debian python3 the Makefile installs, not whatever is first in PATH.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3)

# bench.py raises the open files limit itself (setrlimit) as far as it
# may, and says how far that was.
exec "$PY" "$here/bench.py" --stage "$STAGE" \
    --seconds "${BENCH_SECONDS:-10}" ${BENCH_ONLY:+--only "$BENCH_ONLY"} \
    ${floor:+--floor "$floor"}
