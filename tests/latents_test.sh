#!/bin/sh
# The latent tools on small models trained here in a few steps: encode writes every level's
# latent with log p and bits/dim per sample, decode(encode(x)) gives the images and points back
# within 1e-4, decode draws the latents a file lacks, eval --per-sample agrees with eval's mean,
# interpolate's end columns are the two data images; and their bad input.
# Usage: latents_test.sh PATH-TO-glowcl
set -u
glowcl=$1
here=$(dirname "$0")
tool="python3 $here/npy_tool.py"
. "$(dirname "$0")/expect.sh"
# at_most VALUE LIMIT DESCRIPTION
at_most() {
    python3 -c "import sys; sys.exit(not (float('$1') <= float('$2')))" ||
        fail "$3: $1 is above $2"
}

unset GLOWCL_DEVICE GLOWCL_KERNEL_DIR

python3 "$here/../tools/make_tiny_cifar.py" "$work/cifar" 64 32 >/dev/null ||
    fail "make_tiny_cifar.py"
expect_exit 0 "train a tiny image model" -- "$glowcl" train images --data "cifar10:$work/cifar" \
    --levels 2 --depth 1 --hidden 8 --batch 8 --steps 6 --warmup 2 --every 6 --test-n 8 \
    --out "$work/img"
model=$work/img/model.glowcl
batch=$work/cifar/test_batch.bin

# encode: every level's latent, the scores and the labels, with the documented names and shapes
expect_exit 0 "encode images" -- "$glowcl" encode --model "$model" --data "cifar10:$work/cifar" \
    --n 10 --out "$work/z.npz"
$tool shapes "$work/z.npz" >"$work/shapes" || fail "the .npz does not read"
for line in "z_level1 <f4 (10, 6, 16, 16)" "z_top <f4 (10, 24, 8, 8)" "log_prob <f8 (10,)" \
    "bits_per_dim <f8 (10,)" "labels |u1 (10,)"; do
    grep -qxF "$line" "$work/shapes" ||
        { fail "encode: no '$line' in the .npz"; cat "$work/shapes"; }
done

# decode(encode(x)) = x within 1e-4, in [0, 1) units (the images at their bin centres)
expect_exit 0 "decode to .npy" -- "$glowcl" decode --model "$model" --latents "$work/z.npz" \
    --out "$work/x.npy"
at_most "$($tool images-diff "$work/x.npy" "$batch" 10)" 1e-4 "decode(encode(x))"
expect_exit 0 "decode to a grid" -- "$glowcl" decode --model "$model" --latents "$work/z.npz" \
    --out "$work/x.png"
[ -s "$work/x.png" ] || fail "decode wrote no grid"

# only z_top given: the splits' latents are drawn at the temperature
python3 - "$work" <<'PY' || fail "making the partial and malformed latents"
import struct, sys, zipfile
work = sys.argv[1]
src = zipfile.ZipFile(work + "/z.npz")
def npz(name, members):
    with zipfile.ZipFile(work + "/" + name, "w") as z:
        for member, data in members.items():
            z.writestr(member + ".npy", data)
def npy(descr, shape, payload):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': %r, }" % (descr, shape)
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload
npz("top.npz", {"z_top": src.read("z_top.npy")})
npz("wrong.npz", {"z_top": npy("<f4", (2, 24, 4, 4), bytes(2 * 24 * 16 * 4))})
npz("typo.npz", {"z_topp": src.read("z_top.npy")})
npz("none.npz", {"log_prob": src.read("log_prob.npy")})
npz("counts.npz", {"z_top": src.read("z_top.npy"),
                   "z_level1": npy("<f4", (3, 6, 16, 16), bytes(3 * 6 * 256 * 4))})
PY
expect_exit 0 "decode with only z_top, the rest drawn" -- "$glowcl" decode --model "$model" \
    --latents "$work/top.npz" --temperature 0.7 --out "$work/top.npy"
$tool shapes "$work/top.npy" | grep -F "(10, 3, 32, 32)" >/dev/null || fail "partial decode: shape"
diff=$($tool images-diff "$work/top.npy" "$batch" 10)
python3 -c "import sys; sys.exit(not float('$diff') > 1e-3)" ||
    fail "decode with drawn splits gave the images back exactly ($diff)"

# bad input
expect_exit 2 "decode: latents of the wrong shape" -- "$glowcl" decode --model "$model" \
    --latents "$work/wrong.npz" --out "$work/bad.npy"
expect_text "z_top has shape (2, 24, 4, 4), but this model's z_top is (N, 24, 8, 8)" \
    "wrong shape names the array and the expected shape"
expect_exit 2 "decode: an array that is no latent of the model" -- "$glowcl" decode \
    --model "$model" --latents "$work/typo.npz" --out "$work/bad.npy"
expect_text "'z_topp' is not a latent of this model (its latents are z_level1, z_top)" \
    "an unknown latent lists the model's"
expect_exit 2 "decode: no latents" -- "$glowcl" decode --model "$model" \
    --latents "$work/none.npz" --out "$work/bad.npy"
expect_text "holds no latent of this model" "no latents says so"
expect_exit 2 "decode: latents of different counts" -- "$glowcl" decode --model "$model" \
    --latents "$work/counts.npz" --out "$work/bad.npy"
expect_text "holds 3 samples" "different counts say so"
[ -e "$work/bad.npy" ] && fail "a failed decode wrote its --out"
expect_exit 2 "decode: missing model" -- "$glowcl" decode --latents "$work/z.npz" \
    --out "$work/bad.npy"
expect_exit 3 "decode: model file that does not exist" -- "$glowcl" decode \
    --model "$work/nothing.glowcl" --latents "$work/z.npz" --out "$work/bad.npy"
expect_exit 3 "decode: latents file that does not exist" -- "$glowcl" decode --model "$model" \
    --latents "$work/nothing.npz" --out "$work/bad.npy"
expect_exit 2 "encode: --out that is not .npz" -- "$glowcl" encode --model "$model" \
    --data "cifar10:$work/cifar" --out "$work/z.npy"

# eval --per-sample: one row per image, its mean that of eval's line
expect_exit 0 "eval --per-sample (.csv)" -- "$glowcl" eval --model "$model" \
    --data "cifar10:$work/cifar" --n 20 --per-sample "$work/scores.csv"
printed=$(sed -n 's/^bits\/dim: \([0-9.]*\) .*/\1/p' "$work/out")
python3 - "$work/scores.csv" "$printed" <<'PY' || fail "eval --per-sample: mean is not eval's"
import sys
lines = open(sys.argv[1]).read().split("\n")
rows = [list(map(float, l.split(","))) for l in lines[1:] if l]
mean = sum(r[3] for r in rows) / len(rows)
print("    per-sample mean %.6f, eval printed %s" % (mean, sys.argv[2]))
sys.exit(not (lines[0] == "index,label,log_prob,bits_per_dim" and len(rows) == 20
              and [r[0] for r in rows] == list(range(20)) and all(0 <= r[1] <= 9 for r in rows)
              and abs(mean - float(sys.argv[2])) <= 5e-5))
PY
expect_exit 0 "eval --per-sample (.npy)" -- "$glowcl" eval --model "$model" \
    --data "cifar10:$work/cifar" --n 20 --per-sample "$work/scores.npy"
$tool shapes "$work/scores.npy" | grep -F "<f8 (20, 4)" >/dev/null ||
    fail "eval --per-sample .npy: (20, 4)"
expect_exit 2 "eval --per-sample of another suffix" -- "$glowcl" eval --model "$model" \
    --data "cifar10:$work/cifar" --per-sample "$work/scores.txt"

# interpolate: a row per pair, its end columns the two data images
for path in linear slerp; do
    expect_exit 0 "interpolate --path $path (.npy)" -- "$glowcl" interpolate --model "$model" \
        --data "cifar10:$work/cifar" --pairs 0:1,5:2 --steps 5 --path $path \
        --out "$work/walk-$path.npy"
    $tool shapes "$work/walk-$path.npy" | grep -F "<f4 (2, 5, 3, 32, 32)" >/dev/null ||
        fail "interpolate .npy: (2, 5, 3, 32, 32)"
    at_most "$($tool images-diff "$work/walk-$path.npy" "$batch" 0 0,0 4,1 5,5 9,2)" 1e-4 \
        "interpolate --path $path: the end columns are the data images"
done
expect_exit 0 "interpolate to a grid" -- "$glowcl" interpolate --model "$model" \
    --data "cifar10:$work/cifar" --pairs 0:1,2:3 --steps 8 --out "$work/walk.png"
[ -s "$work/walk.png" ] || fail "interpolate wrote no grid"
for bad in "0-1" "0:" "1:2," "a:b" ""; do
    expect_exit 2 "interpolate: bad pairs '$bad'" -- "$glowcl" interpolate --model "$model" \
        --data "cifar10:$work/cifar" --pairs "$bad" --out "$work/bad.png"
    expect_text "give pairs of image indices" "bad pairs say how to give them"
done
for pairs in 0:99 99:0 1:2,99:3; do
    expect_exit 2 "interpolate: an index past the data ($pairs)" -- "$glowcl" interpolate \
        --model "$model" --data "cifar10:$work/cifar" --pairs $pairs --out "$work/bad.png"
    expect_text "image 99 is not in" "an index past the data says so"
done
expect_exit 2 "interpolate: --steps 1" -- "$glowcl" interpolate --model "$model" \
    --data "cifar10:$work/cifar" --pairs 0:1 --steps 1 --out "$work/bad.png"
[ -e "$work/bad.png" ] && fail "a failed interpolate wrote its --out"

# points: a 2-D Glow, encode and decode of a CSV
expect_exit 0 "train moons (tiny)" -- "$glowcl" train moons --steps 30 --layers 2 \
    --out "$work/moons"
python3 - "$work/points.csv" <<'PY'
import math, sys
with open(sys.argv[1], "w") as f:
    f.write("x,y\n")
    for i in range(50):
        t = math.pi * i / 49
        f.write("%.6f,%.6f\n" % (math.cos(t), math.sin(t) - 0.25))
PY
expect_exit 0 "encode points" -- "$glowcl" encode --model "$work/moons/model.glowcl" \
    --data "$work/points.csv" --out "$work/zp.npz"
$tool shapes "$work/zp.npz" | grep -xF "z <f8 (50, 2)" >/dev/null || fail "encode points: z (50, 2)"
expect_exit 0 "decode points" -- "$glowcl" decode --model "$work/moons/model.glowcl" \
    --latents "$work/zp.npz" --out "$work/back.csv"
python3 - "$work/points.csv" "$work/back.csv" <<'PY' || fail "points: decode(encode(x)) > 1e-4"
import sys
def rows_of(path):
    return [list(map(float, l.split(","))) for l in open(path).read().split("\n")[1:] if l]
rows = [rows_of(p) for p in sys.argv[1:]]
worst = max(abs(a - b) for r, s in zip(*rows) for a, b in zip(r, s))
print("    points: max |decode(encode(x)) - x| =", worst)
sys.exit(not (len(rows[0]) == len(rows[1]) == 50 and worst <= 1e-4))
PY
expect_exit 0 "eval --per-sample of points" -- "$glowcl" eval --model "$work/moons/model.glowcl" \
    --data "$work/points.csv" --per-sample "$work/pscores.csv"
printed=$(sed -n 's/^NLL: \([-0-9.]*\) .*/\1/p' "$work/out")
python3 - "$work/pscores.csv" "$printed" <<'PY' || fail "points: per-sample mean is not eval's NLL"
import sys
rows = [list(map(float, l.split(","))) for l in open(sys.argv[1]).read().split("\n")[1:] if l]
nll = -sum(r[2] for r in rows) / len(rows)
sys.exit(not (len(rows) == 50 and all(r[1] == -1 for r in rows)
              and abs(nll - float(sys.argv[2])) <= 5e-5))
PY
expect_exit 2 "encode: a model of points given images" -- "$glowcl" encode \
    --model "$work/moons/model.glowcl" --data "cifar10:$work/cifar" --out "$work/bad.npz"

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
