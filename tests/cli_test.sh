#!/bin/sh
# The command line as a user meets it, every command and its exit codes:
# - help, unknown commands and flags; `glowcl devices` as a table and JSON; device choice by
#   index, platform:device, name, type and GLOWCL_DEVICE, and its errors; device flags before
#   the command;
# - a broken kernel's build log; no compiler warnings on a first run (GLOWCL_VERBOSE shows
#   them); `glowcl check`;
# - the trainers: the affine warm-up recovers mu and sigma; the 2-D Glow on two-moons (both
#   priors) reaches its test NLL and writes its pictures; train csv; the multi-scale image Glow
#   on a tiny CIFAR-format set (bits/dim fall; --learn-top, additive couplings, Adamax;
#   --minutes);
# - MNIST-family IDX files (--pad) and NumPy arrays as data, points and images, and each
#   malformed file;
# - eval and sample on those models (points, CSV, PNG, image grids, bits/dim, reconstruction);
#   a non-finite NLL is an error naming the rows, never printed;
# - exact --resume (moons and images, byte for byte); SIGINT/SIGTERM stops that checkpoint and
#   resume, a second signal, a kill in the middle of a checkpoint write;
# - injected device faults (lost device, one failed launch, out of device memory) and what
#   they save;
# - non-finite training steps skipped, five in a row stopping the run;
# - bad input: malformed, empty and non-finite CSV, missing or wrong model files, corrupt PNGs,
#   bad sizes and values (--batch states its limit), an unwritable --out or --log refused
#   before any training by every trainer;
# - bench --tune and its cache (stale, foreign and corrupt entries, GLOWCL_TUNE=off).
# Usage: cli_test.sh PATH-TO-glowcl
set -u
glowcl=$1
. "$(dirname "$0")/expect.sh"

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
# Device flags before the command, as --help lists them, as well as after it.
expect_exit 0 "--reference before the command" -- "$glowcl" --reference devices
expect_exit 2 "-d before the command chooses" -- "$glowcl" -d 99 devices
expect_text "no OpenCL device 99" "-d before the command is the device flag"
expect_exit 2 "a flag other than a device flag before the command" -- "$glowcl" --steps 5 devices
expect_text "before the command" "a non-device flag before the command says where it stands"
expect_exit 2 "device flags and no command" -- "$glowcl" --reference
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
expect_exit 0 "-d 0 before the command" -- "$glowcl" -d 0 devices
expect_text "^\* 0" "-d 0 before the command marks device 0"
expect_exit 0 "--device, --platform and --device-type before the command" -- \
    "$glowcl" --device 0 --platform 0 --device-type all devices
expect_exit 0 "-p 0 -t all before the command" -- "$glowcl" -p 0 -t all devices
expect_exit 0 "a device flag after the command wins over one before it" -- \
    "$glowcl" -d 99 devices -d 0

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

# The kernel compiler's warnings are the developer's business: a first run (nothing cached)
# prints none unless GLOWCL_VERBOSE asks for the build logs.
mkdir "$work/pocl-cache-empty" "$work/pocl-cache-verbose"
expect_exit 0 "first run, empty kernel cache" -- env POCL_CACHE_DIR="$work/pocl-cache-empty" \
    "$glowcl" train affine -d 0 --steps 2
grep -q "warning" "$work/out" && fail "first run prints compiler warnings: $(grep warning "$work/out" | head -3)"
expect_exit 0 "first run with GLOWCL_VERBOSE" -- env POCL_CACHE_DIR="$work/pocl-cache-verbose" \
    GLOWCL_VERBOSE=1 "$glowcl" train affine -d 0 --steps 2
expect_text "build log of" "GLOWCL_VERBOSE prints the build logs"

expect_exit 0 "check on device 0" -- "$glowcl" check -d 0
expect_text "checks passed" "check summary"
sed 's/^/    /' "$work/out"

# The affine warm-up recovers mu within 0.02 and sigma within 2 %.
expect_exit 0 "train affine" -- "$glowcl" train affine --mu 1.5,-2 --sigma 0.5,3 --out "$work/affine"
sed 's/^/    /' "$work/out"
awk '$1 ~ /^[0-9]+$/ && NF == 5 { dm = $3 - $2; if (dm < 0) dm = -dm; ds = ($5 - $4) / $4; if (ds < 0) ds = -ds;
     if (dm > 0.02 || ds > 0.02) bad = 1; rows++ }
     END { exit (rows == 2 && !bad) ? 0 : 1 }' "$work/out" || fail "affine warm-up: mean or std off"
[ -s "$work/affine/model.glowcl" ] || fail "train affine --out wrote no model"

# The 2-D Glow (10 layers) on two-moons, both priors, with their pictures.
nll_at_most() { # nll_at_most LIMIT WHAT: the "test NLL: X" line of $work/out is <= LIMIT
    nll=$(sed -n 's/^test NLL: \([0-9.]*\).*/\1/p' "$work/out")
    if [ -z "$nll" ] || ! awk -v a="$nll" -v b="$1" 'BEGIN { exit !(a <= b) }'; then
        fail "$2: test NLL '$nll' above $1"
    else
        echo "ok: $2: test NLL $nll <= $1"
    fi
}
for prior in gauss mix; do
    limit=0.38; [ "$prior" = mix ] && limit=0.45
    expect_exit 0 "train moons --prior $prior" -- "$glowcl" train moons --prior "$prior" --out "$work/moons-$prior"
    sed 's/^/    /' "$work/out" | tail -4
    nll_at_most "$limit" "moons $prior"
    for picture in data samples latent density loss; do
        head -c 8 "$work/moons-$prior/$picture.png" 2>/dev/null | od -An -c | grep -q "P   N   G" ||
            fail "moons $prior: $picture.png missing or not a PNG"
    done
done
model="$work/moons-gauss/model.glowcl"

expect_exit 0 "eval on fresh moons" -- "$glowcl" eval --model "$model" --data moons
expect_text "NLL: " "eval prints the NLL"
expect_exit 0 "eval on the reference path" -- "$glowcl" eval --model "$model" --reference
expect_exit 0 "--reference before eval" -- "$glowcl" --reference eval --model "$model" --n 100
expect_text "NLL: " "--reference before eval prints the NLL"
expect_exit 0 "-d 0 before train moons" -- \
    "$glowcl" -d 0 train moons --steps 5 --test-n 100 --out "$work/leading"
expect_text "test NLL: " "-d 0 before train moons trains"
# Points far outside the model's range have no finite log-density: an error naming the rows
# (1 and 3 here, counting data rows from 1), exit 1, and no NLL printed as a number.
printf 'x,y\n1e300,1e300\n0.5,0.2\n-1e300,3\n' >"$work/huge.csv"
expect_exit 1 "eval on points of magnitude 1e300" -- \
    "$glowcl" eval --model "$model" --data "$work/huge.csv"
expect_text "not finite for rows 1 and 3 of $work/huge.csv" "eval names the non-finite rows"
if grep -q "NLL:" "$work/out"; then
    fail "eval printed a non-finite NLL"
else
    echo "ok: no non-finite NLL printed"
fi
expect_exit 0 "sample to CSV" -- "$glowcl" sample --model "$model" --n 500 --temperature 0.8 --out "$work/s.csv"
[ "$(grep -c . "$work/s.csv")" -eq 501 ] || fail "sample --n 500 wrote $(grep -c . "$work/s.csv") lines"
expect_exit 0 "sample to PNG" -- "$glowcl" sample --model "$model" --n 500 --out "$work/s.png"
expect_exit 0 "eval a CSV" -- "$glowcl" eval --model "$model" --data "$work/s.csv"
expect_exit 0 "train csv on those samples" -- "$glowcl" train csv --data "$work/s.csv" --steps 50 --batch 100 --out "$work/csv"
if [ -n "${GLOWCL_EXAMPLE:-}" ]; then
    expect_exit 0 "the embedding example" -- "$GLOWCL_EXAMPLE" "$model"
    expect_text "log p" "example prints densities"
fi

# The multi-scale image Glow on a tiny CIFAR-format set (no CIFAR-10 here): a small model
# trains, its bits/dim fall, and its checkpoint samples a grid and evaluates.
tools=$(dirname "$0")/../tools
python3 "$tools/make_tiny_cifar.py" "$work/cifar" 64 32 >/dev/null || fail "make_tiny_cifar.py"
expect_exit 0 "train images (tiny)" -- "$glowcl" train images --data "cifar10:$work/cifar" \
    --levels 2 --depth 2 --hidden 16 --batch 8 --steps 40 --warmup 10 --every 20 --test-n 32 \
    --out "$work/images"
sed 's/^/    /' "$work/out" | grep "bits/dim" | tail -3
awk '/test bits\/dim/ { v[n++] = $5 } END { exit !(n == 2 && v[1] < v[0]) }' "$work/out" ||
    fail "test bits/dim did not fall"
[ -s "$work/images/curve.png" ] || fail "train images wrote no curve.png"
expect_exit 0 "train images --learn-top --coupling additive --split-prior standard" -- \
    "$glowcl" train images --data "cifar10:$work/cifar" --levels 2 --depth 1 --hidden 8 \
    --batch 8 --steps 4 --every 4 --test-n 8 --learn-top --coupling additive \
    --split-prior standard --optimizer adamax --out "$work/images2"
expect_exit 0 "image sample grid" -- "$glowcl" sample --model "$work/images/model.glowcl" --n 16 --temperature 0.7 --out "$work/grid.png"
expect_exit 0 "image eval" -- "$glowcl" eval --model "$work/images/model.glowcl" --data "cifar10:$work/cifar" --n 32
expect_text "bits/dim" "image eval prints bits/dim"
awk -F'= ' '/decode\(encode\(x\)\)/ { found = 1; ok = ($2 + 0 <= 1e-4) } END { exit !(found && ok) }' \
    "$work/out" || fail "image eval: decode(encode(x)) off by more than 1e-4 (or not printed)"
expect_exit 0 "train images --minutes stops early" -- "$glowcl" train images \
    --data "cifar10:$work/cifar" --levels 1 --depth 1 --hidden 8 --batch 8 --steps 100000 \
    --minutes 0.0001 --test-n 8 --out "$work/images3"
# The budget (6 ms) is checked after each step, so the run ends within a few steps; how many
# depends on the machine's speed, so the test asks only for an early, orderly end.
awk '/^step [0-9]+: (test|training) bits\/dim/ { n = $2 + 0 } END { exit !(n > 0 && n < 1000) }' \
    "$work/out" || fail "--minutes: no early end with a last test bits/dim line"
head -c 3000 "$work/cifar/test_batch.bin" >"$work/cifar/data_batch_2.bin"
expect_exit 3 "truncated CIFAR file" -- "$glowcl" train images --data "cifar10:$work/cifar" --steps 1
expect_text "not a multiple of 3073" "truncated CIFAR file message"
rm "$work/cifar/data_batch_2.bin"
expect_exit 2 "odd image size for squeeze" -- "$glowcl" train images --data "cifar10:$work/cifar" --levels 6 --steps 1

# MNIST-family IDX files and NumPy arrays as data, made here byte by byte (no numpy needed): a
# 1-channel model of 28x28 IDX images padded to 32x32 trains, samples and evaluates, saying
# what the padding does to bits/dim; points and images from .npy files; and each malformed file
# with its message. (Fashion-MNIST itself: tests/fashion_mnist_test.sh.)
python3 - "$work" <<'PY' || fail "making the IDX and .npy files"
import gzip, os, random, struct, sys
work = sys.argv[1]
rng = random.Random(1)
def idx(folder, name, dims, values, said=None, magic=b"\0\0\x08"):
    os.makedirs(f"{work}/{folder}", exist_ok=True)
    header = magic + bytes([len(dims)]) + b"".join(struct.pack(">I", d) for d in (said or dims))
    opener = gzip.open if name.endswith(".gz") else open
    with opener(f"{work}/{folder}/{name}", "wb") as f:
        f.write(header + bytes(values))
def blobs(n):  # a bright disc on a dark ground, at a random place: something to learn
    out = []
    for _ in range(n):
        cx, cy = rng.uniform(8, 20), rng.uniform(8, 20)
        out += [min(255, int(255 * ((x - cx) ** 2 + (y - cy) ** 2 < 30)) + rng.randrange(20))
                for y in range(28) for x in range(28)]
    return out
idx("idx", "train-images-idx3-ubyte.gz", [64, 28, 28], blobs(64))
idx("idx", "train-labels-idx1-ubyte.gz", [64], [i % 10 for i in range(64)])
idx("idx", "t10k-images.idx3-ubyte", [32, 28, 28], blobs(32))
idx("idx-magic", "train-images-idx3-ubyte", [4, 28, 28], blobs(4), magic=b"\x08\0\x08")
idx("idx-size", "train-images-idx3-ubyte", [4, 28, 28], blobs(4), said=[5, 28, 28])
idx("idx-labels", "train-images-idx3-ubyte", [4, 28, 28], blobs(4))
idx("idx-labels", "train-labels-idx1-ubyte", [3], [1, 2, 3])
# EMNIST's names carry the set's name in front; two sets in one folder are ambiguous
idx("idx-emnist", "emnist-letters-train-images-idx3-ubyte.gz", [16, 28, 28], blobs(16))
idx("idx-emnist", "emnist-letters-train-labels-idx1-ubyte.gz", [16], [i % 26 for i in range(16)])
idx("idx-emnist", "emnist-letters-t10k-images-idx3-ubyte.gz", [8, 28, 28], blobs(8))
idx("idx-two", "emnist-letters-train-images-idx3-ubyte", [4, 28, 28], blobs(4))
idx("idx-two", "emnist-digits-train-images-idx3-ubyte", [4, 28, 28], blobs(4))
def npy(name, descr, shape, data, cut=None):
    text = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (descr, repr(tuple(shape)))
    text += " " * (-(10 + len(text) + 1) % 64) + "\n"
    body = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode() + data
    with open(f"{work}/{name}", "wb") as f:
        f.write(body[:cut])
ring = [rng.gauss(0, 0.1) + v for i in range(400) for v in
        ((1 + (i % 2)) * __import__("math").cos(i), (1 + (i % 2)) * __import__("math").sin(i))]
npy("points.npy", "<f8", (400, 2), struct.pack("<800d", *ring))
npy("rgb.npy", "|u1", (16, 8, 8, 3), bytes(rng.randrange(256) for _ in range(16 * 8 * 8 * 3)))
npy("rgba.npy", "|u1", (8, 4, 8, 4), bytes(rng.randrange(256) for _ in range(8 * 4 * 8 * 4)))
npy("int64.npy", "<i8", (4, 2), bytes(64))
npy("cut.npy", "<f4", (4, 2), bytes(32), cut=40)
PY
idx_flags="--levels 2 --depth 1 --hidden 8 --batch 8 --warmup 2 --test-n 16"
expect_exit 0 "train images on IDX files, --pad 32" -- "$glowcl" train images \
    --data "idx:$work/idx" --pad 32 $idx_flags --steps 4 --every 2 --out "$work/idx-run"
expect_text "64 training images 1x32x32 (padded from 28x28: bits/dim counts the padding" \
    "IDX images keep one channel and say they are padded"
expect_text "^step 4: test bits/dim .*(16 images, padded: padding counted)" \
    "IDX: test bits/dim on the t10k split, padding counted"
expect_exit 0 "eval on IDX files, --pad 32" -- "$glowcl" eval --model "$work/idx-run/model.glowcl" \
    --data "idx:$work/idx" --pad 32 --n 16
expect_text "over the 1x32x32 padded images (1024 dims each, 240 of them padding)" \
    "eval says bits/dim is over the padded images"
expect_exit 0 "a grey sample grid" -- "$glowcl" sample --model "$work/idx-run/model.glowcl" \
    --n 16 --out "$work/idx-grid.png"
expect_exit 2 "eval on IDX files without the model's --pad" -- "$glowcl" eval \
    --model "$work/idx-run/model.glowcl" --data "idx:$work/idx" --n 16
expect_text "the data 1x28x28 (pad them as in training: --pad 32)" "eval without --pad says so"
expect_exit 2 "--pad smaller than the images" -- "$glowcl" train images --data "idx:$work/idx" \
    --pad 16 --steps 1
expect_text "--pad 16 is smaller than the 28x28 images" "--pad smaller than the images says so"
expect_exit 3 "IDX file with a wrong magic" -- "$glowcl" train images \
    --data "idx:$work/idx-magic" --steps 1
expect_text "train-images-idx3-ubyte is not an IDX file: it starts with 08 00 08 03" \
    "wrong IDX magic says so"
expect_exit 3 "IDX counts that do not match the file size" -- "$glowcl" train images \
    --data "idx:$work/idx-size" --steps 1
expect_text "header says 5 images of 28x28 (3920 bytes), but the file ends after 3136" \
    "IDX counts against the file size say so"
expect_exit 3 "IDX labels and images of different counts" -- "$glowcl" train images \
    --data "idx:$work/idx-labels" --pad 32 --steps 1
expect_text "train-labels-idx1-ubyte holds 3 labels, but .*holds 4 images" "IDX label count says so"
expect_exit 0 "EMNIST's prefixed IDX names" -- "$glowcl" train images \
    --data "idx:$work/idx-emnist" --pad 32 $idx_flags --steps 2 --every 2 --test-n 8 \
    --out "$work/idx-emnist-run"
expect_text "16 training images 1x32x32" "EMNIST's training images found"
expect_exit 2 "two IDX sets in one folder" -- "$glowcl" train images \
    --data "idx:$work/idx-two" --steps 1
expect_text "holds several IDX data sets (emnist-.*-train-images and emnist-.*-train-images)" \
    "two IDX sets in one folder say so"
expect_exit 3 "IDX folder that does not exist" -- "$glowcl" train images \
    --data "idx:$work/nothing" --steps 1
expect_exit 0 "train csv on a .npy of points" -- "$glowcl" train csv --data "npy:$work/points.npy" \
    --steps 30 --batch 100 --out "$work/npy-points"
expect_exit 0 "eval on a .npy of points" -- "$glowcl" eval --model "$work/npy-points/model.glowcl" \
    --data "$work/points.npy"
expect_text "NLL: .* over 400 points" "eval scores the .npy points"
expect_exit 0 "train images on an NHWC .npy" -- "$glowcl" train images --data "npy:$work/rgb.npy" \
    --levels 1 --depth 1 --hidden 8 --batch 8 --steps 2 --every 2 --test-n 8 --out "$work/npy-rgb"
expect_text "16 training images 3x8x8" "an NHWC .npy becomes 3x8x8 images"
expect_exit 3 "a .npy whose channel axis cannot be told" -- "$glowcl" train images \
    --data "npy:$work/rgba.npy" --steps 1
expect_text "shape (8, 4, 8, 4) has a channel axis of 1, 3 or 4 on both sides; say which layout" \
    "an ambiguous .npy asks for --layout"
expect_exit 0 "train images on an NCHW .npy, --layout nchw" -- "$glowcl" train images \
    --data "npy:$work/rgba.npy" --layout nchw --levels 1 --depth 1 --hidden 8 --batch 4 \
    --steps 1 --every 1 --test-n 4 --out "$work/npy-rgba"
expect_text "8 training images 4x8x4" "--layout nchw takes axis 1 for channels"
expect_exit 3 "a .npy of an unsupported dtype" -- "$glowcl" train csv --data "npy:$work/int64.npy"
expect_text "int64.npy: dtype '<i8' is not supported" "an unsupported dtype says so"
expect_exit 3 "a .npy with a truncated header" -- "$glowcl" eval --model "$model" --data "$work/cut.npy"
expect_text "cut.npy: truncated .npy header: 30 of its 118 bytes" "a truncated header says so"
expect_exit 3 "uint8 images given where points belong" -- "$glowcl" train csv --data "npy:$work/rgb.npy"
expect_text "holds uint8 values of shape (16, 8, 8, 3), which glowcl takes for images" "images as points says so"
expect_exit 2 "an unknown --layout" -- "$glowcl" train images --data "npy:$work/rgb.npy" --layout hwc

# Exact resume: N steps, stop, M more with --resume give the bytes of N + M straight steps
# (same --steps for the same learning-rate schedule; --constant-lr lets the first part stop
# early). The training state (data stream, schedule step) travels in model.glowcl.
expect_exit 0 "train moons 40 steps straight" -- "$glowcl" train moons --steps 40 --constant-lr --out "$work/straight"
expect_exit 0 "train moons 20 steps" -- "$glowcl" train moons --steps 20 --constant-lr --out "$work/resumed"
expect_exit 0 "train moons --resume to 40 steps" -- "$glowcl" train moons --steps 40 --constant-lr --resume --out "$work/resumed"
expect_text "resuming .* at step 20 of 40" "resume starts at step 20"
cmp -s "$work/straight/model.glowcl" "$work/resumed/model.glowcl" && echo "ok: moons 20 + 20 resumed = 40 straight, byte for byte" ||
    fail "moons: 20 + 20 resumed steps differ from 40 straight"
image_flags="--data cifar10:$work/cifar --levels 2 --depth 2 --hidden 16 --batch 8 --warmup 4 --test-n 16 --every 3"
expect_exit 0 "train images 6 steps straight" -- "$glowcl" train images $image_flags --steps 6 --out "$work/istraight"
expect_exit 0 "train images 3 steps" -- "$glowcl" train images $image_flags --steps 3 --out "$work/iresumed"
expect_exit 0 "train images --resume to 6 steps" -- "$glowcl" train images $image_flags --steps 6 --resume --out "$work/iresumed"
cmp -s "$work/istraight/model.glowcl" "$work/iresumed/model.glowcl" && echo "ok: images 3 + 3 resumed = 6 straight, byte for byte" ||
    fail "images: 3 + 3 resumed steps differ from 6 straight"
expect_exit 3 "resume without a checkpoint" -- "$glowcl" train moons --steps 5 --resume --out "$work/nothing-here"

# Signals: SIGINT (130) or SIGTERM (143) finishes the step, writes the checkpoint, says where,
# and the run resumes from it; a second SIGINT exits at once without writing anything.
# start_training LOG COMMAND...: runs it in the background until it has printed a step.
start_training() {
    log=$1; shift
    # Emptied first: the previous run's "step" lines must not pass for this run's, or the signal
    # can come before glowcl has even started (seen under load: nothing saved, exit 143).
    : >"$log"
    "$@" >"$log" 2>&1 &
    pid=$!
    tries=0
    until grep -q "^step " "$log" || [ $tries -ge 600 ]; do sleep 0.1; tries=$((tries + 1)); done
}
for sig in INT TERM; do
    want=130; [ "$sig" = TERM ] && want=143
    start_training "$work/sig.log" "$glowcl" train moons --steps 100000 --out "$work/sig-$sig"
    kill -"$sig" "$pid"
    wait "$pid"
    got=$?
    if [ "$got" -ne "$want" ]; then
        fail "SIG$sig during train moons: exit $got, expected $want"; sed 's/^/    /' "$work/sig.log"
    else
        echo "ok: SIG$sig during train moons (exit $got)"
    fi
    cp "$work/sig.log" "$work/out"
    expect_text "saved $work/sig-$sig/model.glowcl" "SIG$sig: says where the checkpoint is"
    done_steps=$(sed -n 's/.*stopped after step \([0-9]*\) of.*/\1/p' "$work/sig.log")
    expect_exit 0 "SIG$sig: the checkpoint loads" -- "$glowcl" eval --model "$work/sig-$sig/model.glowcl" --n 100
    expect_exit 0 "SIG$sig: the run resumes" -- "$glowcl" train moons --steps $((${done_steps:-0} + 5)) --resume --out "$work/sig-$sig"
    expect_text "resuming .* at step ${done_steps:-?} of" "SIG$sig: resumes at the step it stopped"
done
start_training "$work/sig.log" "$glowcl" train images $image_flags --steps 100000 --every 100000 --out "$work/sig-images"
kill -TERM "$pid"
wait "$pid"
got=$?
[ "$got" -eq 143 ] && echo "ok: SIGTERM during train images (exit 143)" ||
    { fail "SIGTERM during train images: exit $got, expected 143"; sed 's/^/    /' "$work/sig.log"; }
expect_exit 0 "SIGTERM: the image checkpoint loads" -- "$glowcl" eval --model "$work/sig-images/model.glowcl" --data "cifar10:$work/cifar" --n 8
# A second SIGINT while the (slow, reference-path) step is still running: out at once, no file.
start_training "$work/sig.log" "$glowcl" train moons --reference --hidden 128 --batch 512 --steps 100000 --out "$work/sig-twice"
kill -INT "$pid"
sleep 0.3
kill -INT "$pid"
wait "$pid"
got=$?
cp "$work/sig.log" "$work/out"
[ "$got" -eq 130 ] && echo "ok: a second SIGINT exits at once (exit 130)" || fail "second SIGINT: exit $got, expected 130"
expect_text "interrupted again" "second SIGINT says so"
[ ! -e "$work/sig-twice/model.glowcl" ] || fail "a second SIGINT still wrote the checkpoint"

# Killed in the middle of writing its checkpoint (GLOWCL_FAULT_SIGNAL_IN_SAVE=9, a test-only
# hook, sends SIGKILL once the parameters are being written): the old checkpoint stays byte for
# byte and loads, and the half-written temporary left beside it does not disturb the next run,
# which still resumes exactly.
expect_exit 0 "train moons 20 steps (to be killed while saving)" -- "$glowcl" train moons --steps 20 --constant-lr --out "$work/killed"
cp "$work/killed/model.glowcl" "$work/killed-before"
expect_exit 137 "SIGKILL in the middle of the checkpoint write" -- env GLOWCL_FAULT_SIGNAL_IN_SAVE=9 "$glowcl" train moons --steps 40 --constant-lr --resume --out "$work/killed"
cmp -s "$work/killed-before" "$work/killed/model.glowcl" && echo "ok: killed mid-write: the old checkpoint is unchanged, byte for byte" ||
    fail "killed mid-write: the old checkpoint changed"
ls "$work/killed"/model.glowcl.tmp.* >/dev/null 2>&1 && echo "ok: killed mid-write: a half-written temporary is left" ||
    fail "killed mid-write: no temporary left, so the kill did not come mid-write"
expect_exit 0 "killed mid-write: the old checkpoint loads" -- "$glowcl" eval --model "$work/killed/model.glowcl" --n 100
expect_exit 0 "killed mid-write: the run resumes beside the leftover temporary" -- "$glowcl" train moons --steps 40 --constant-lr --resume --out "$work/killed"
expect_text "resuming .* at step 20 of 40" "killed mid-write: resumes at step 20"
cmp -s "$work/straight/model.glowcl" "$work/killed/model.glowcl" && echo "ok: killed mid-write: 20 + 20 resumed = 40 straight, byte for byte" ||
    fail "killed mid-write: the resumed run differs from 40 straight steps"
# A second SIGINT while the checkpoint is being written (the first from here, the second raised
# by the hook in the middle of the write): out at once, the checkpoint as it was, and no
# temporary file left.
cp "$work/killed/model.glowcl" "$work/twice-before"
rm -f "$work/killed"/model.glowcl.tmp.*
start_training "$work/sig.log" env GLOWCL_FAULT_SIGNAL_IN_SAVE=2 "$glowcl" train moons --steps 100000 --constant-lr --resume --out "$work/killed"
kill -INT "$pid"
wait "$pid"
got=$?
cp "$work/sig.log" "$work/out"
[ "$got" -eq 130 ] && echo "ok: a second SIGINT during the save exits at once (exit 130)" ||
    { fail "second SIGINT during the save: exit $got, expected 130"; sed 's/^/    /' "$work/sig.log"; }
expect_text "interrupted again" "second SIGINT during the save says so"
cmp -s "$work/twice-before" "$work/killed/model.glowcl" && echo "ok: second SIGINT during the save: the checkpoint is unchanged" ||
    fail "second SIGINT during the save changed the checkpoint"
if ls "$work/killed"/model.glowcl.tmp.* >/dev/null 2>&1; then
    fail "second SIGINT during the save left a temporary file: $(ls "$work/killed")"
else
    echo "ok: second SIGINT during the save leaves no temporary file"
fi

# Device faults, injected by test-only hooks of the runtime (src/core/internal.h). A device lost for
# good in the 5th step of a resumed run (GLOWCL_FAULT_AT_STEP=5): nothing can be read back, so
# the checkpoint stays as it was and the message gives its step. A device that fails one launch
# (5:once) and can still be read: the last good step (24) is saved, and resuming from it gives
# the bytes of the uninterrupted run.
cp "$work/killed-before" "$work/killed/model.glowcl"
expect_exit 4 "device lost in step 5 of a resumed run" -- env GLOWCL_FAULT_AT_STEP=5 "$glowcl" train moons --steps 40 --constant-lr --resume --out "$work/killed"
expect_text "device failure after step 24: .*CL_DEVICE_NOT_AVAILABLE" "device lost: says after which step and how"
expect_text "the last checkpoint, $work/killed/model.glowcl, is kept as it was: step 20" "device lost: says where the last checkpoint is and its step"
cmp -s "$work/killed-before" "$work/killed/model.glowcl" && echo "ok: device lost: the checkpoint is unchanged" ||
    fail "device lost: the checkpoint changed"
expect_exit 4 "device fails once in step 5 of a resumed run" -- env GLOWCL_FAULT_AT_STEP=5:once "$glowcl" train moons --steps 40 --constant-lr --resume --out "$work/killed"
expect_text "saved the last good state, after step 24, to $work/killed/model.glowcl" "device fails once: saves the last good step"
expect_exit 0 "device fails once: the run resumes" -- "$glowcl" train moons --steps 40 --constant-lr --resume --out "$work/killed"
expect_text "resuming .* at step 24 of 40" "device fails once: resumes at step 24"
cmp -s "$work/straight/model.glowcl" "$work/killed/model.glowcl" && echo "ok: device fails once: 24 + 16 resumed = 40 straight, byte for byte" ||
    fail "device fails once: the resumed run differs from 40 straight steps"
# The image trainer, device lost in step 5: the checkpoint of step 3 (--every 3) stays.
expect_exit 4 "device lost in step 5 of train images" -- env GLOWCL_FAULT_AT_STEP=5 "$glowcl" train images $image_flags --steps 6 --out "$work/ilost"
expect_text "the last checkpoint, $work/ilost/model.glowcl, is kept as it was: step 3" "images, device lost: keeps the step-3 checkpoint"
expect_exit 0 "images, device lost: the checkpoint loads" -- "$glowcl" eval --model "$work/ilost/model.glowcl" --data "cifar10:$work/cifar" --n 8
# Device out of memory (GLOWCL_FAULT_DEVICE_MEMORY=BYTES plays a device of BYTES that, like
# PoCL, fails a buffer at its first use): the run (8-image steps, a 64-image sample grid) fits
# in 40 MB; 16 MB refuses it with the size that failed and a hint.
expect_exit 0 "a 40 MB device trains" -- env GLOWCL_FAULT_DEVICE_MEMORY=40000000 "$glowcl" train images $image_flags --steps 1 --out "$work/small-device"
expect_exit 4 "a 16 MB device runs out of memory (batch 48)" -- env GLOWCL_FAULT_DEVICE_MEMORY=16000000 "$glowcl" train images $image_flags --batch 48 --steps 1 --out "$work/small-device"
expect_text "cannot allocate [0-9]* bytes ([0-9.]* MiB) on .*CL_MEM_OBJECT_ALLOCATION_FAILURE" "device out of memory names the size"
expect_text "a smaller --batch" "device out of memory suggests a smaller --batch"

# Bad input: a clear message and the documented exit code.
printf 'x,y\n1,2\n3,abc\n' >"$work/bad.csv"
expect_exit 3 "malformed CSV" -- "$glowcl" train csv --data "$work/bad.csv"
expect_text "bad.csv:3" "malformed CSV names the line"
expect_exit 3 "missing model file" -- "$glowcl" eval --model "$work/none.glowcl"
printf 'not a model' >"$work/junk.glowcl"
expect_exit 3 "not a model file" -- "$glowcl" sample --model "$work/junk.glowcl" --out "$work/j.csv"
expect_exit 2 "zero steps" -- "$glowcl" train moons --steps 0
expect_exit 2 "unknown prior" -- "$glowcl" train moons --prior laplace
expect_exit 2 "batch larger than the data" -- "$glowcl" train csv --data "$work/s.csv" --batch 1000
expect_exit 2 "sample to an unknown format" -- "$glowcl" sample --model "$model" --out "$work/s.txt"
"$glowcl" train affine --mu 0,0,0 --sigma 1,1,1 --steps 10 --out "$work/affine3" >/dev/null 2>&1
expect_exit 2 "model of another dimension" -- "$glowcl" eval --model "$work/affine3/model.glowcl"
expect_exit 2 "a point model given image data" -- "$glowcl" eval \
    --model "$work/affine3/model.glowcl" --data "cifar10:$work/cifar"
expect_text "not of images" "a point model given image data says so"

printf 'x,y\n1,2\n3,nan\n' >"$work/nan.csv"
expect_exit 3 "CSV with NaN" -- "$glowcl" train csv --data "$work/nan.csv"
expect_text "nan.csv:3: field 2 is not a finite number" "CSV with NaN names line and field"
# Non-finite training steps: each is skipped with a warning, five in a row stop the run (exit 1),
# and the checkpoint it resumed from is left as it was.
expect_exit 0 "train moons 20 steps (to diverge from)" -- "$glowcl" train moons --steps 20 \
    --test-n 100 --out "$work/diverge"
cp "$work/diverge/model.glowcl" "$work/diverge.before"
expect_exit 1 "a diverging run (--lr 1e30)" -- "$glowcl" train moons --steps 40 --test-n 100 \
    --resume --out "$work/diverge" --lr 1e30
expect_text "step skipped" "a non-finite step is skipped with a warning"
expect_text "training diverged: 5 non-finite steps in a row" "five in a row stop the run"
cmp -s "$work/diverge/model.glowcl" "$work/diverge.before" &&
    echo "ok: diverged: the checkpoint is unchanged" ||
    fail "diverged: the checkpoint changed"
printf '1,2\n3\n' >"$work/cols.csv"
expect_exit 3 "CSV with a short row" -- "$glowcl" train csv --data "$work/cols.csv"
expect_text "cols.csv:2: expected 2 columns, found 1" "CSV with a short row says so"
: >"$work/empty.csv"
expect_exit 3 "empty CSV" -- "$glowcl" eval --model "$model" --data "$work/empty.csv"
expect_text "no data rows" "empty CSV says so"
expect_exit 2 "negative batch" -- "$glowcl" train moons --batch -3
expect_exit 2 "batch above the limit" -- "$glowcl" train moons --batch 100000000
expect_text "batch must be 1..1000000" "batch above the limit states the limit"
expect_exit 2 "affine batch above the limit" -- "$glowcl" train affine --batch 100000000
expect_text "batch must be 1..1000000" "affine batch above the limit states the limit"
# An --out that is a file, or a --log that cannot be opened: refused before any training
# (no step runs), by every trainer, with exit 3.
trainer_data() { # the data flags of `train $1` on this test's data
    case $1 in
        csv) echo "--data $work/s.csv --batch 100" ;;
        images) echo "--data cifar10:$work/cifar --levels 1 --depth 1 --hidden 8 --batch 8" ;;
    esac
}
no_training() { # no_training WHAT: $work/out shows no training step, no result
    if grep -q "^step \|^trained\|NLL" "$work/out"; then fail "$1 trained first"; fi
}
: >"$work/a-file"
for kind in affine moons csv images; do
    expect_exit 3 "train $kind --out FILE" -- \
        "$glowcl" train $kind $(trainer_data $kind) --steps 20 --out "$work/a-file"
    expect_text "a-file is not a directory" "train $kind --out FILE says so"
    no_training "train $kind --out FILE"
done
for kind in moons csv images; do
    expect_exit 3 "train $kind --log in a missing directory" -- "$glowcl" train $kind \
        $(trainer_data $kind) --steps 20 --out "$work/log-$kind" --log "$work/no-dir/loss.log"
    expect_text "cannot write --log" "train $kind --log in a missing directory says so"
    no_training "train $kind --log in a missing directory"
done
mkdir -p "$work/model-is-dir/model.glowcl"
expect_exit 3 "train moons --out whose model.glowcl is a directory" -- \
    "$glowcl" train moons --steps 20 --out "$work/model-is-dir"
expect_text "is a directory" "model.glowcl a directory says so"
no_training "train moons --out whose model.glowcl is a directory"
expect_exit 2 "zero hidden channels" -- "$glowcl" train images --data "cifar10:$work/cifar" --hidden 0 --steps 1
expect_exit 2 "image batch larger than the data set" -- "$glowcl" train images --data "cifar10:$work/cifar" --batch 1000 --steps 1
expect_text "larger than the 51 training images" "image batch larger than the data set says so"
mkdir -p "$work/png-corrupt" "$work/png-sizes"
printf 'not a picture' >"$work/png-corrupt/a.png"
expect_exit 3 "a corrupt PNG" -- "$glowcl" train images --data "png:$work/png-corrupt" --steps 1
expect_text "is not a PNG file" "a corrupt PNG says so"
cp "$work/moons-gauss/data.png" "$work/moons-gauss/loss.png" "$work/png-sizes/"
expect_exit 3 "PNGs of two sizes" -- "$glowcl" train images --data "png:$work/png-sizes" --steps 1
expect_text "all images must have one size" "PNGs of two sizes say so"
# A model file given to the wrong command, or where data belongs.
expect_exit 3 "a model file given as CSV data" -- "$glowcl" train csv --data "$model"
expect_text "is a glowcl model file, not CSV data" "a model file given as data says so"
expect_exit 2 "an image model given points" -- "$glowcl" eval --model "$work/images/model.glowcl" --data moons
expect_text "is a model of 3x32x32 images, not of points" "an image model given points says so"
expect_exit 3 "train images --resume from a point model" -- "$glowcl" train images --data "cifar10:$work/cifar" --steps 1 --resume --out "$work/moons-gauss"
expect_text "is not an image model" "train images --resume from a point model says so"
expect_exit 3 "train moons --resume from an image model" -- "$glowcl" train moons --steps 1 --resume --out "$work/images"
expect_text "is not a Glow of 2-D points" "train moons --resume from an image model says so"

# bench --tune and its cache, in a cache folder of this test's own: --quick writes an entry,
# later runs say they use it; corrupt, stale (another driver) and foreign (another device)
# entries are passed over with a warning, never an error; GLOWCL_TUNE=off ignores the cache;
# a cache folder that cannot be made is an error of --tune before any timing.
tuned="$work/xdg"
expect_exit 0 "bench --list-shapes" -- "$glowcl" bench --list-shapes
expect_text "^VECTOR_GROUP moons check_flow " "bench --list-shapes names workload and unit tests"
expect_exit 2 "--quick without --tune" -- "$glowcl" bench --quick
expect_exit 2 "bench --tune on the reference path" -- \
    env XDG_CACHE_HOME="$tuned" "$glowcl" bench --tune --quick --reference
expect_exit 2 "bench --tune while GLOWCL_SHAPES is set" -- \
    env XDG_CACHE_HOME="$tuned" GLOWCL_SHAPES=VECTOR_GROUP=8 "$glowcl" bench --tune --quick
expect_text "unset it to tune" "bench --tune under GLOWCL_SHAPES says why"
expect_exit 0 "bench --tune --quick" -- env XDG_CACHE_HOME="$tuned" "$glowcl" bench --tune --quick
expect_text "^VECTOR_GROUP  *moons " "bench --tune prints a row a parameter"
expect_text "written to $tuned/glowcl/" "bench --tune says where the cache is"
entry=$(ls "$tuned"/glowcl/*.shapes 2>/dev/null | head -n 1)
if [ -z "$entry" ] || ! head -n 1 "$entry" | grep -q "^glowcl-kernel-shapes 1$" ||
    ls "$tuned"/glowcl | grep -q tmp; then
    fail "bench --tune left no cache entry, or a temporary file: $(ls "$tuned"/glowcl)"
    entry="$work/no-entry"
fi
cp "$entry" "$work/good.shapes"
tuned_run() { expect_exit 0 "$1" -- env XDG_CACHE_HOME="$tuned" "$glowcl" bench --only moons --moons-steps 1; }
tuned_run "a run after bench --tune"
expect_text "kernel shapes tuned for this device: $entry" "a run after --tune says it uses the cache"
expect_exit 0 "GLOWCL_TUNE=off" -- env XDG_CACHE_HOME="$tuned" GLOWCL_TUNE=off \
    "$glowcl" bench --only moons --moons-steps 1
grep -q "tuned for this device\|kernel shape cache" "$work/out" && fail "GLOWCL_TUNE=off read the cache"
sed 's/^VECTOR_GROUP=.*/VECTOR_GROUP=7/' "$work/good.shapes" >"$entry"
tuned_run "a cache entry with a disallowed value"
expect_text "warning: ignoring the kernel shape cache .*VECTOR_GROUP must be one of" "a corrupt entry is a warning"
echo "not a cache" >"$entry"
tuned_run "an unparseable cache entry"
expect_text "warning: ignoring the kernel shape cache" "an unparseable entry is a warning"
sed 's/^driver .*/driver 0.0-older/' "$work/good.shapes" >"$entry"
tuned_run "a stale cache entry"
expect_text "measured with driver 0.0-older" "a stale entry is a warning naming the driver"
sed 's/^device .*/device another device/' "$work/good.shapes" >"$entry"
tuned_run "a foreign cache entry"
expect_text "it is for another device" "a foreign entry is a warning naming its device"
touch "$work/a-file"
expect_exit 3 "bench --tune with a cache folder that cannot be made" -- \
    env XDG_CACHE_HOME="$work/a-file" "$glowcl" bench --tune --quick
expect_text "cannot write the kernel shape cache in $work/a-file/glowcl" "an unwritable cache says where"
grep -q "glowcl: tune:" "$work/out" && fail "bench --tune timed before finding the cache unwritable"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
