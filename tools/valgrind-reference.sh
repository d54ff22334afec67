#!/bin/bash
# Runs the reference path (--reference: plain C, no OpenCL) under valgrind memcheck and fails on
# any memory error or leak: short training runs of every model kind (affine, moons with each
# prior, CSV, images with resume), sampling, evaluation, `glowcl check`, and error exits (a
# truncated model file, an unwritable output, a malformed CSV, a missing data folder), whose
# clean-up paths are where leaks hide.
#
# Usage: tools/valgrind-reference.sh [BUILD_DIR]   (default: build; a -Dbuildtype=debug build
#        gives the clearest stacks). Needs valgrind (apt-get install valgrind) and python3.
# Takes about 4 minutes on a 2-core machine, 2.5 of them for `glowcl check --reference`.
# Exits 0 when every command exits as expected with no valgrind report, 1 otherwise.
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
glowcl=$build/glowcl
command -v valgrind >/dev/null || { echo "valgrind not found (apt-get install valgrind)"; exit 1; }
[ -f "$build/build.ninja" ] || { echo "no meson build in $build (meson setup $build)"; exit 1; }
ninja -C "$build" glowcl >/dev/null || { echo "building $glowcl failed"; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# 101 tells valgrind's findings apart from glowcl's own exit codes (0-4). Leaks count as errors
# (definite and possible ones, valgrind's default for --errors-for-leak-kinds).
vg_exit=101
failures=0

# run EXPECTED-EXIT DESCRIPTION -- GLOWCL-ARGS...
run() {
    want=$1; what=$2; shift 3
    start=$SECONDS
    valgrind --error-exitcode=$vg_exit --leak-check=full --log-file="$work/vg.log" \
        "$glowcl" "$@" >"$work/out" 2>&1
    got=$?
    if [ "$got" -eq "$vg_exit" ] || grep -q "ERROR SUMMARY: [1-9]" "$work/vg.log"; then
        echo "FAIL: $what: valgrind reported errors"
        sed 's/^/    /' "$work/vg.log"
        failures=$((failures + 1))
    elif [ "$got" -ne "$want" ]; then
        echo "FAIL: $what: exit $got, expected $want"
        sed 's/^/    /' "$work/out"
        failures=$((failures + 1))
    else
        echo "ok: $what (exit $got, $((SECONDS - start)) s)"
    fi
}

w=$work
small_moons="--steps 5 --batch 32 --layers 2 --hidden 8 --test-n 200"
small_images="--levels 2 --depth 1 --hidden 8 --batch 2 --every 2 --test-n 4 --warmup 1"
python3 tools/make_tiny_cifar.py "$w/cifar" 8 4 >/dev/null || { echo "make_tiny_cifar.py failed"; exit 1; }
printf 'x,y\n1,2\n3,oops\n' >"$w/bad.csv"

run 0 "train affine" -- train affine --reference --steps 50 --out "$w/affine"
run 0 "train moons, Gaussian prior" -- train moons --reference $small_moons --out "$w/gauss"
run 0 "train moons, mixture prior" -- train moons --reference $small_moons --prior mix --out "$w/mix"
run 0 "sample points to CSV" -- sample --reference --model "$w/mix/model.glowcl" --n 50 --out "$w/points.csv"
run 0 "sample points to PNG" -- sample --reference --model "$w/gauss/model.glowcl" --n 50 --out "$w/points.png"
run 0 "eval on two-moons" -- eval --reference --model "$w/mix/model.glowcl" --n 200
run 0 "train csv" -- train csv --reference --data "$w/points.csv" --steps 5 --batch 16 --layers 2 \
    --hidden 8 --test-n 20 --out "$w/csv"
run 0 "train images" -- train images --reference --data "cifar10:$w/cifar" $small_images --steps 2 \
    --learn-top --out "$w/images"
run 0 "train images --resume" -- train images --reference --data "cifar10:$w/cifar" $small_images \
    --steps 3 --learn-top --resume --out "$w/images"
run 0 "train images, additive, Adamax" -- train images --reference --data "cifar10:$w/cifar" \
    $small_images --steps 2 --coupling additive --split-prior standard --optimizer adamax \
    --out "$w/additive"
run 0 "sample an image grid" -- sample --reference --model "$w/images/model.glowcl" --n 4 \
    --temperature 0.7 --out "$w/grid.png"
run 0 "eval images" -- eval --reference --model "$w/images/model.glowcl" --data "cifar10:$w/cifar" -n 4
run 0 "check" -- check --reference --seed 1

head -c 300 "$w/mix/model.glowcl" >"$w/truncated.glowcl"
run 3 "truncated model file" -- eval --reference --model "$w/truncated.glowcl"
run 3 "unwritable output" -- sample --reference --model "$w/mix/model.glowcl" --n 4 \
    --out "$w/no/such/dir/s.png"
run 3 "malformed CSV" -- train csv --reference --data "$w/bad.csv" --steps 2
run 3 "missing data folder" -- train images --reference --data "cifar10:$w/nonexistent"
run 2 "points model given images" -- eval --reference --model "$w/mix/model.glowcl" \
    --data "cifar10:$w/cifar"
run 2 "bad usage" -- train moons --reference --steps 0

if [ "$failures" -ne 0 ]; then
    echo "valgrind-reference: $failures failed"
    exit 1
fi
echo "valgrind-reference: all clean"
