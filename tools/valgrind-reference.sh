#!/bin/sh
# The reference path (plain C, no OpenCL device) under valgrind's memcheck: short runs of every
# command that trains, samples, evaluates and checks, plus the unit tests of the reference-only
# code. Any memcheck error or definite leak fails the script (exit 1).
# Usage: tools/valgrind-reference.sh [BUILD_DIR]   (default: build; needs `valgrind`)
set -eu
build=${1:-build}
glowcl="$build/glowcl"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
vg="valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite -q"
run() {
    echo "valgrind: $*"
    # shellcheck disable=SC2086
    $vg "$@" >"$work/out" 2>&1 || { cat "$work/out"; echo "FAIL: $*"; exit 1; }
}
python3 "$(dirname "$0")/make_tiny_cifar.py" "$work/cifar" 8 4 >/dev/null
run "$glowcl" check --reference --seed 1
run "$glowcl" train affine --reference --steps 50 --out "$work/affine"
run "$glowcl" train moons --reference --steps 20 --batch 64 --test-n 200 --out "$work/moons"
run "$glowcl" train moons --reference --prior mix --steps 10 --batch 32 --test-n 100 --out "$work/mix"
run "$glowcl" train moons --reference --steps 30 --batch 64 --test-n 100 --resume --out "$work/moons"
run "$glowcl" sample --reference --model "$work/moons/model.glowcl" --n 50 --out "$work/s.csv"
run "$glowcl" eval --reference --model "$work/moons/model.glowcl" --n 200
run "$glowcl" train images --reference --data "cifar10:$work/cifar" --levels 2 --depth 1 \
    --hidden 4 --batch 4 --steps 2 --every 2 --test-n 4 --out "$work/images"
run "$glowcl" sample --reference --model "$work/images/model.glowcl" --n 4 --out "$work/g.png"
# Bad input takes the error paths: it must fail with its own exit code (3), not memcheck's.
printf '1,2\nfoo,3\n' >"$work/bad.csv"
set +e
valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite -q \
    "$glowcl" train csv --reference --data "$work/bad.csv" --out "$work/bad" >"$work/out" 2>&1
code=$?
set -e
echo "valgrind: bad CSV -> exit $code"
[ "$code" -eq 3 ] || { cat "$work/out"; echo "FAIL: bad CSV gave exit $code, expected 3"; exit 1; }
# The unit tests that need no device, in one process (CK_FORK=no) so valgrind sees them.
for unit in data plot archive images; do
    run env CK_FORK=no "$build/tests/check_$unit"
done
echo "valgrind: the reference path ran clean"
