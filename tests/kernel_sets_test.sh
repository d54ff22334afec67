#!/bin/sh
# The kernel sets on the command line (issue 16, docs/kernels.md#choosing-the-kernel-set):
# - --kernels and GLOWCL_KERNELS: a bad value in either is a message naming the allowed values
#   and exit 2, on every command and on the reference path too; GLOWCL_KERNELS over the flag;
# - `glowcl devices` (table and --json) shows each device's default set and the chosen one's;
#   `devices --build-options` each program's file, headers and build options, and its errors;
# - a run on a device's other set says so at start-up, one on its own set does not;
# - the gpu set's programs are built with -DGC_GPU=1 and the cpu set's without;
# - GLOWCL_PROFILE's table has each kernel's work-items per launch and work-group size;
# - `glowcl check` passes with the gpu set.
# Usage: kernel_sets_test.sh PATH-TO-glowcl
set -u
glowcl=$1
. "$(dirname "$0")/expect.sh"
cl_dir="$(dirname "$0")/../cl"

unset GLOWCL_DEVICE GLOWCL_KERNEL_DIR GLOWCL_KERNELS GLOWCL_PROFILE

expect_exit 2 "--kernels with an unknown set" -- "$glowcl" devices --kernels fast
expect_text "--kernels: unknown kernel set 'fast' (expected auto, cpu or gpu)" \
    "--kernels message names the value and the allowed ones"
expect_exit 2 "--kernels without a value" -- "$glowcl" devices --kernels
expect_exit 2 "GLOWCL_KERNELS with an unknown set" -- env GLOWCL_KERNELS=fast "$glowcl" devices
expect_text "GLOWCL_KERNELS: unknown kernel set 'fast' (expected auto, cpu or gpu)" \
    "GLOWCL_KERNELS message"
expect_exit 2 "a bad --kernels stops the reference path too" -- \
    "$glowcl" check --reference --kernels fast
expect_exit 2 "a bad --kernels before the command" -- \
    "$glowcl" --kernels fast train affine --steps 1 --out "$work/affine"
expect_text "unknown kernel set" "--kernels before the command is the kernel set flag"
expect_exit 2 "a bad GLOWCL_KERNELS under a good --kernels" -- \
    env GLOWCL_KERNELS=fast "$glowcl" train affine --kernels cpu --steps 1 --out "$work/affine"
expect_exit 0 "--kernels gpu on the reference path" -- \
    "$glowcl" --reference --kernels gpu train affine --steps 1 --out "$work/affine"

# devices --build-options: how glowcl builds each program, for tools/gpu-regs.sh.
expect_exit 0 "devices --build-options --class gpu" -- "$glowcl" devices --build-options --class gpu
expect_text "^conv.cl	common.clh	-cl-std=CL1.2 .*-DGC_GPU=1" "a program's file, headers and options"
expect_text "^squeeze.cl	-	" "a program without headers"
expect_exit 0 "devices --build-options --class gpu --kernels cpu" -- \
    "$glowcl" devices --build-options --class gpu --kernels cpu
grep -q "GC_GPU" "$work/out" && fail "the cpu set's build options have GC_GPU"
expect_exit 2 "devices --build-options, unknown class" -- "$glowcl" devices --build-options --class tpu
expect_text "unknown device class 'tpu' (expected cpu-avx512, cpu-avx2 or gpu)" "class message"
expect_exit 2 "devices --class without --build-options" -- "$glowcl" devices --class gpu
expect_exit 2 "devices --build-options --json" -- "$glowcl" devices --build-options --json --class gpu
expect_exit 2 "devices --build-options with no device and no class" -- \
    "$glowcl" devices --build-options --reference
expect_text "name its class with --class" "no-device message"

count=$("$glowcl" devices --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["devices"]))')
if [ "${count:-0}" -eq 0 ]; then
    echo "SKIP: no OpenCL device, the kernel sets' device tests not run"
    [ "$failures" -eq 0 ] && exit 77
    exit 1
fi

# Every device's default: gpu for GPUs and accelerators, cpu for CPUs, in the table and JSON.
"$glowcl" devices --json >"$work/devices.json"
python3 - "$work/devices.json" <<'EOF' || fail "devices --json: a device's kernel_set is not its type's"
import json, sys
listing = json.load(open(sys.argv[1]))
for d in listing["devices"]:
    want = "gpu" if d["type"] in ("GPU", "accelerator") else "cpu"
    assert d["kernel_set"] == want, (d["name"], d["kernel_set"])
chosen = listing["devices"][listing["chosen"]]
assert listing["chosen_kernel_set"] == chosen["kernel_set"], listing["chosen_kernel_set"]
EOF
expect_exit 0 "devices" -- "$glowcl" devices
[ "$(grep -c "kernel set \(cpu\|gpu\)$" "$work/out")" -eq "$count" ] ||
    fail "devices: not every device's line says its kernel set"
own=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["devices"][0]["kernel_set"])' \
    <"$work/devices.json")
other=gpu
[ "$own" = gpu ] && other=cpu
echo "device 0 runs the $own set by default; the other is $other"

expect_exit 0 "devices --build-options for device 0" -- "$glowcl" devices --build-options -d 0
expect_text "^# glowcl's programs on a device of class .* with the $own kernel set" \
    "--build-options takes the chosen device's class and set"

expect_exit 0 "devices --kernels $other" -- "$glowcl" devices -d 0 --kernels "$other"
expect_text "with the $other kernel set" "devices says which set the chosen device runs"
"$glowcl" devices -d 0 --kernels "$other" --json | grep -q "\"chosen_kernel_set\": \"$other\"" ||
    fail "devices --json --kernels $other: chosen_kernel_set is not $other"
env GLOWCL_KERNELS="$own" "$glowcl" devices -d 0 --kernels "$other" --json |
    grep -q "\"chosen_kernel_set\": \"$own\"" || fail "GLOWCL_KERNELS does not override --kernels"

# The start-up line names a set only where it is not the device's own.
expect_exit 0 "train affine on the $other set" -- \
    "$glowcl" -d 0 --kernels "$other" train affine --steps 2 --out "$work/affine"
expect_text "^glowcl: using OpenCL device 0 .*; the $other kernel set, asked for (this device's default is $own)" \
    "start-up line names the set that is not the device's own"
expect_exit 0 "GLOWCL_KERNELS=$other" -- \
    env GLOWCL_KERNELS="$other" "$glowcl" train affine -d 0 --steps 2 --out "$work/affine"
expect_text "the $other kernel set, asked for" "GLOWCL_KERNELS chooses the set"
for set in auto "$own"; do
    expect_exit 0 "train affine, --kernels $set" -- \
        "$glowcl" train affine -d 0 --kernels "$set" --steps 2 --out "$work/affine"
    grep -q "kernel set" "$work/out" && fail "--kernels $set: the start-up line names a set"
done

# -DGC_GPU=1 with the gpu set only: a tensor.cl that refuses to build with it.
mkdir "$work/kernels"
{ printf '#ifdef GC_GPU\n#error "built with GC_GPU"\n#endif\n'; cat "$cl_dir/tensor.cl"; } \
    >"$work/kernels/tensor.cl"
expect_exit 4 "the gpu set builds with GC_GPU" -- env GLOWCL_KERNEL_DIR="$work/kernels" \
    "$glowcl" train affine -d 0 --kernels gpu --steps 1 --out "$work/affine"
expect_text "built with GC_GPU" "the build log shows the gpu set's GC_GPU"
expect_exit 0 "the cpu set builds without GC_GPU" -- env GLOWCL_KERNEL_DIR="$work/kernels" \
    "$glowcl" train affine -d 0 --kernels cpu --steps 1 --out "$work/affine"

# GLOWCL_PROFILE's table: per kernel the work-items a launch ran (min..max) and its work-group
# size ("auto" where the launch left it to the driver, as invconv_weight's do).
expect_exit 0 "GLOWCL_PROFILE=1 train moons" -- env GLOWCL_PROFILE=1 \
    "$glowcl" train moons -d 0 --steps 2 --layers 2 --out "$work/moons"
expect_text "^glowcl profile: kernel .* work-items/launch *local size$" "profile header"
awk '$1 == "glowcl" && $2 == "profile:" && $3 != "kernel" {
         rows++
         if (NF != 9 || $8 !~ /^[0-9]+(\.\.[0-9]+)?$/ || $9 !~ /^(auto|(auto,)?[0-9]+(\.\.[0-9]+)?)$/) {
             print "malformed: " $0; bad = 1
         }
         if ($3 == "invconv_weight" && $9 != "auto") { print "invconv_weight: " $9; bad = 1 }
         if ($3 == "tensor_fill") { split($8, r, /\.\./); ranged = r[2] + 0 > r[1] + 0 }
     }
     END { exit (rows > 5 && ranged && !bad) ? 0 : 1 }' "$work/out" ||
    { fail "profile rows lack work-items min..max or local size"; grep profile "$work/out" | sed 's/^/    /'; }

expect_exit 0 "check with the gpu set" -- "$glowcl" -d 0 --kernels gpu check --no-gemm
expect_text "checks passed" "check with the gpu set: summary"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all kernel set checks passed"
