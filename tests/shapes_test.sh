#!/bin/sh
# Every kernel shape value `glowcl bench --tune` can choose passes the device tests of the
# kernels it shapes. The parameters, their values and the unit-test program that covers their
# workload come from the program (`glowcl bench --list-shapes`), so a parameter made tunable
# is tested here without editing this file.
#
# Round k of a unit-test program sets, through GLOWCL_SHAPES, each of its parameters to its
# k-th allowed value (its last where it has fewer), and runs the program's device test case:
# every allowed value of every parameter is tested in as many runs as the longest list has
# values (check_flow's device case takes ~20-30 s on 2 cores, check_conv's ~30 s).
# Usage: shapes_test.sh PATH-TO-glowcl TESTS-BUILD-DIR
set -u
glowcl=$1
tests=$2
list=$(mktemp)
trap 'rm -f "$list" "$list.out"' EXIT
unset GLOWCL_SHAPES
export GLOWCL_TUNE=off # the defaults under the values set here, not a developer's tuning
# One seed (unless given): a shape that breaks a kernel breaks it on any inputs, and the unit
# suite already draws fresh ones; this suite should not add chances to meet a rare input on
# which a finite-difference row is off (a ReLU kink within the step; e.g. seed
# 1883925536310826 fails the image model's reference row with any shapes).
export GLOWCL_TEST_SEED="${GLOWCL_TEST_SEED:-1}"

if ! "$glowcl" bench --list-shapes >"$list"; then
    echo "FAIL: glowcl bench --list-shapes"
    exit 1
fi
if [ "$("$glowcl" devices --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["devices"]))')" -eq 0 ]; then
    echo "SKIP: no OpenCL device"
    exit 77
fi
grep -v '^#' "$list" | sed 's/^/tunable: /'

failures=0
for unit in $(grep -v '^#' "$list" | awk '{print $3}' | sort -u); do
    rounds=$(awk -v u="$unit" '$3 == u && NF - 3 > n {n = NF - 3} END {print n + 0}' "$list")
    k=1
    while [ "$k" -le "$rounds" ]; do
        shapes=$(awk -v u="$unit" -v k="$k" '
            $3 == u { i = (k <= NF - 3) ? 3 + k : NF; s = s (s ? "," : "") $1 "=" $i }
            END { print s }' "$list")
        echo "== $unit with GLOWCL_SHAPES=$shapes"
        start=$(date +%s)
        # A case that ran no test (renamed?) would pass: it must report its checks.
        if GLOWCL_SHAPES="$shapes" CK_RUN_CASE="on every OpenCL device" "$tests/$unit" \
            >"$list.out" 2>&1 && grep -q "^100%: Checks: [1-9]" "$list.out"; then
            echo "ok: $unit with $shapes ($(($(date +%s) - start)) s)"
        else
            echo "FAIL: $unit with GLOWCL_SHAPES=$shapes"
            grep -v "kernel shapes from GLOWCL_SHAPES" "$list.out" | sed 's/^/    /'
            failures=$((failures + 1))
        fi
        rm -f "$list.out"
        k=$((k + 1))
    done
done
echo "$failures failure(s)"
[ "$failures" -eq 0 ]
