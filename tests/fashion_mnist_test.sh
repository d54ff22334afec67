#!/bin/sh
# Real IDX data: Debian's dataset-fashion-mnist (gzip-compressed IDX files, 60000 training and
# 10000 test images of 28x28) read whole, padded to 32x32, and a tiny 1-channel image model
# trained a few steps on it, scored on the t10k split. Skipped (77) when the package is not
# installed (tools/install-deps.sh installs it). About 1 s on 2 cores with a warm kernel cache,
# 15 s cold.
# Usage: fashion_mnist_test.sh PATH-TO-glowcl [FASHION-MNIST-DIR]
set -u
glowcl=$1
data=${2:-/usr/share/datasets/fashion-mnist}
if [ ! -f "$data/train-images-idx3-ubyte.gz" ]; then
    echo "SKIP: no Fashion-MNIST in $data (apt-get install dataset-fashion-mnist)"
    exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
"$glowcl" train images --data "idx:$data" --pad 32 --levels 2 --depth 1 --hidden 8 --batch 16 \
    --warmup 2 --steps 6 --every 3 --test-n 64 --max-images 1024 --out "$work/run" \
    >"$work/out" 2>&1
rc=$?
sed 's/^/    /' "$work/out"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
[ "$rc" -eq 0 ] || fail "train images on Fashion-MNIST: exit $rc"
grep -q "1024 training images 1x32x32 (padded from 28x28" "$work/out" ||
    fail "Fashion-MNIST: not 1024 one-channel images padded from 28x28"
# Two test scores on the t10k split, both finite bits/dim of a plausible size.
awk '/^step [36]: test bits\/dim/ { n++; if (!($5 > 0 && $5 < 16)) bad = 1 }
     END { exit !(n == 2 && !bad) }' "$work/out" || fail "Fashion-MNIST: no two test bits/dim lines"
[ -s "$work/run/samples-000006.png" ] || fail "Fashion-MNIST: no sample grid"
echo "Fashion-MNIST: $(($(date +%s) - start)) s"
[ "$failures" -eq 0 ] && echo "ok: a 1-channel model trains on Fashion-MNIST padded to 32x32"
[ "$failures" -eq 0 ]
