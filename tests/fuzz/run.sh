#!/bin/sh
# Run each libFuzzer harness named on the command line for FUZZ_SECONDS
# on a scratch copy of its seed corpus (new inputs must not land in the
# committed one), then print what libFuzzer counted: executions, edge
# coverage (cov) and features (ft) from -print_final_stats=1, and the
# crashes.  A crash leaves its input and log in $O/fuzz-crashes/ and
# makes the run fail once every harness has had its turn.
#
#	O=obj-fuzz FUZZ_SECONDS=60 sh tests/fuzz/run.sh http_request ...
set -u
cd "$(dirname "$0")/../.."
: "${O:=obj-fuzz}" "${FUZZ_SECONDS:=60}"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/aibfuzz.XXXXXX") || exit 1
trap 'rm -rf "$scratch"' EXIT INT TERM
mkdir -p "$O/fuzz-crashes"

# UBSan already aborts (-fno-sanitize-recover); ask for its stack too.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

failed=0
printf '%-14s %12s %7s %7s %8s\n' harness executions cov ft crashes
for h in "$@"; do
	bin=$O/fuzz/$h
	work=$scratch/$h
	mkdir -p "$work/corpus" "$work/artifacts" "$work/tmp"
	cp tests/fuzz/corpus/"$h"/* "$work/corpus/"
	# -timeout: an input that takes 10 s is a hang, and a finding.
	TMPDIR=$work/tmp "$bin" -max_total_time="$FUZZ_SECONDS" \
	    -print_final_stats=1 -timeout=10 \
	    -artifact_prefix="$work/artifacts/" "$work/corpus" \
	    >"$work/log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
	# The last status line ("#N DONE cov: X ft: Y ...") has the totals.
	last=$(grep -E '^#[0-9]+.*cov: ' "$work/log" | tail -n 1)
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	crashes=$(ls "$work/artifacts" | wc -l)
	if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
		crashes=1	# died without an artifact: still a failure
	fi
	printf '%-14s %12s %7s %7s %8s\n' "$h" "${execs:-?}" "${cov:-?}" \
	    "${ft:-?}" "$crashes"
	if [ "$crashes" -ne 0 ]; then
		failed=1
		for a in "$work/artifacts"/*; do
			[ -e "$a" ] && cp "$a" "$O/fuzz-crashes/$h-${a##*/}"
		done
		cp "$work/log" "$O/fuzz-crashes/$h.log"
		echo "== $h: libFuzzer exit $rc; log and inputs in" \
		    "$O/fuzz-crashes/"
		grep -E -A 30 '^==[0-9]+==ERROR|runtime error|invariant' \
		    "$work/log" | head -n 40
	fi
done
exit $failed
