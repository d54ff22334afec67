#!/bin/sh
# Runs one Check test program inside oclgrind and fails if oclgrind reports anything: kernel
# faults (out-of-bounds access, data race, uninitialised read) go to its --log file, API misuse
# to stderr, and oclgrind itself exits with the program's status whatever it found.
# Usage: oclgrind_test.sh OCLGRIND TEST-PROGRAM [OCLGRIND-CHECKS...]
# The checks default to --check-api --data-races --uninitialized.
set -u
oclgrind=$1
program=$2
shift 2
checks=${*:---check-api --data-races --uninitialized}
log=$(mktemp)
errors=$(mktemp)
trap 'rm -f "$log" "$errors"' EXIT
# One process (CK_FORK=no): a forked child's reports would not reach this log. Tests that
# provoke OpenCL errors on purpose see GLOWCL_TEST_UNDER_OCLGRIND and skip themselves.
CK_FORK=no GLOWCL_TEST_UNDER_OCLGRIND=1 \
    "$oclgrind" $checks --log "$log" "$program" 2>"$errors"
status=$?
cat "$errors" >&2
found=0
if [ -s "$log" ]; then
    echo "oclgrind reported kernel problems:"
    cat "$log"
    found=1
fi
if grep -q "Oclgrind - OpenCL runtime error detected" "$errors"; then
    echo "oclgrind reported OpenCL API errors (see above)"
    found=1
fi
[ "$found" -eq 0 ] || exit 1
[ "$status" -eq 77 ] && exit 77
[ "$status" -eq 0 ] || { echo "test program failed under oclgrind (exit $status)"; exit 1; }
echo "oclgrind: no problems reported"
