#!/bin/sh
# The command line as a user meets it: device listing (table and JSON), device choice errors
# and their exit codes, a broken kernel's build log, and `glowcl check`.
# Usage: cli_test.sh PATH-TO-glowcl
set -u
glowcl=$1
failures=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# expect_exit CODE DESCRIPTION -- COMMAND...: runs, keeps stdout+stderr in $work/out
expect_exit() {
    want=$1; what=$2; shift 3
    "$@" >"$work/out" 2>&1
    got=$?
    if [ "$got" -ne "$want" ]; then
        fail "$what: exit $got, expected $want"; sed 's/^/    /' "$work/out"
    else
        echo "ok: $what (exit $got)"
    fi
}
expect_text() {
    grep -q -- "$1" "$work/out" || { fail "$2: output lacks '$1'"; sed 's/^/    /' "$work/out"; }
}

unset GLOWCL_DEVICE GLOWCL_KERNEL_DIR

expect_exit 0 "help" -- "$glowcl" --help
expect_text "0-based" "help states index base"
expect_text "Exit codes" "help documents exit codes"
expect_exit 2 "no command" -- "$glowcl"
expect_exit 2 "unknown command" -- "$glowcl" frobnicate
expect_exit 2 "unknown flag" -- "$glowcl" devices --frobnicate

expect_exit 0 "devices" -- "$glowcl" devices
count=$("$glowcl" devices --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["devices"]))')
[ -n "$count" ] || fail "devices --json is not valid JSON"
"$glowcl" devices --json | python3 -m json.tool >/dev/null || fail "json.tool rejects devices --json"
echo "ok: devices --json parses ($count devices)"

expect_exit 2 "unknown device index" -- "$glowcl" devices -d 99
expect_text "no OpenCL device 99" "unknown device message"
expect_exit 2 "unknown device name" -- "$glowcl" devices -d no-such-device-name
expect_exit 2 "unknown device type" -- "$glowcl" devices -t tpu
expect_exit 0 "reference needs no device" -- "$glowcl" devices --reference
expect_exit 2 "GLOWCL_DEVICE names a missing device" -- env GLOWCL_DEVICE=99 "$glowcl" devices
expect_exit 0 "flag wins over GLOWCL_DEVICE" -- env GLOWCL_DEVICE=99 "$glowcl" devices --reference

if [ "$count" -eq 0 ]; then
    echo "SKIP: no OpenCL device, device tests of the CLI not run"
    [ "$failures" -eq 0 ] && exit 77
    exit 1
fi

expect_text "OpenCL devices" "list header"
expect_exit 2 "device index past the list" -- "$glowcl" devices -d "$count"
expect_text "OpenCL devices" "unknown device prints the list"
expect_exit 0 "device 0 by index" -- "$glowcl" devices -d 0
expect_text "^\* 0" "device 0 marked as chosen"
expect_exit 0 "device 0 by platform:device" -- "$glowcl" devices -d 0:0

gpus=$("$glowcl" devices --json | python3 -c 'import json,sys; print(sum(d["type"]=="GPU" for d in json.load(sys.stdin)["devices"]))')
if [ "$gpus" -eq 0 ]; then
    expect_exit 2 "-t gpu without a GPU" -- "$glowcl" devices -t gpu
    expect_text "no OpenCL gpu device" "-t gpu message"
fi

mkdir "$work/kernels"
echo '__kernel void tensor_fill(__global float *x) { x[0] = not_declared; }' >"$work/kernels/tensor.cl"
expect_exit 4 "broken kernel" -- env GLOWCL_KERNEL_DIR="$work/kernels" "$glowcl" check -d 0
expect_text "build log of tensor.cl" "broken kernel shows the build log"
expect_text "not_declared" "build log has the compiler's message"

expect_exit 0 "check on device 0" -- "$glowcl" check -d 0
expect_text "checks passed" "check summary"
sed 's/^/    /' "$work/out"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
