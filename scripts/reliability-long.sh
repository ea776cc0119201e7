#!/usr/bin/env bash
# The long form of the reliability suite (see RELIABILITY.md):
#
#   1. the reliability package with CELLMQTT_LONG=1: the fault matrix with
#      200 messages and 5 faults per cell, 50 SIGKILL cycles of the durable
#      queue, the bad-input and injection tables;
#   2. the queue's own crash test with CELLMQTT_LONG=1 (60 SIGKILL cycles);
#   3. every native fuzz target for FUZZTIME each (default 10m), one after
#      the other.
#
# Usage: scripts/reliability-long.sh            # everything, about 90 minutes
#        FUZZTIME=1m scripts/reliability-long.sh
#        SKIP_FUZZ=1 scripts/reliability-long.sh
#        FUZZ_ONLY=1 scripts/reliability-long.sh
#
# The output goes to the terminal and to $LOG (default
# ${TMPDIR:-/tmp}/cellmqtt-reliability-long.log). A fuzz
# failure leaves its input under <package>/testdata/fuzz/<target>/: commit
# it with the fix, so the normal `go test` replays it forever.
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZTIME=${FUZZTIME:-10m}
LOG=${LOG:-${TMPDIR:-/tmp}/cellmqtt-reliability-long.log}
: >"$LOG"

run() {
	echo "+ $*" | tee -a "$LOG"
	"$@" 2>&1 | tee -a "$LOG"
}

{
	echo "machine: $(uname -srm), $(nproc) CPUs, $(go version)"
	grep -m1 'model name' /proc/cpuinfo 2>/dev/null || true
	date -u
} | tee -a "$LOG"

if [ "${FUZZ_ONLY:-}" != 1 ]; then
	export CELLMQTT_LONG=1
	run go test -race -count=1 -timeout 60m -v \
		-run '^(TestFaultMatrix|TestDurableQueueKill9|TestBadInput|TestInjection)$' ./reliability
	run go test -race -count=1 -timeout 30m -run 'Crash|Kill' ./queue
	unset CELLMQTT_LONG
fi

if [ "${SKIP_FUZZ:-}" != 1 ]; then
	# package target: the three the issue names first, then the others.
	targets=(
		"./atmodem FuzzReader"
		"./modemsim FuzzCommandParser"
		"./compat FuzzPacketPath"
		"./modemsim FuzzCommandLoop"
		"./atmodem FuzzQuotedParameter"
		"./atmodem FuzzInfoFields"
		"./queue FuzzFileReplay"
		"./queue FuzzScanRecords"
	)
	for t in "${targets[@]}"; do
		set -- $t
		run go test -run '^$' -fuzz "^$2\$" -fuzztime "$FUZZTIME" "$1"
	done
fi
date -u | tee -a "$LOG"
echo "reliability long form: PASS (log: $LOG)" | tee -a "$LOG"
