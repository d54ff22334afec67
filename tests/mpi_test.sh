#!/bin/sh
# Data-parallel training under `mpirun -np 2` against one process with the same global batch:
# per-step losses (--log) compared, from scratch and after a resume with another rank count, on
# the reference path and on the OpenCL device (PoCL here); a batch the ranks cannot split; a
# rank failing alone before training; ranks whose parameters drift apart. Skipped (77) in a
# build without MPI.
# Usage: mpi_test.sh PATH-TO-glowcl yes|no (whether glowcl was built with MPI)
#
# Tolerances. In double (the reference path) 2 ranks reproduce 1 rank to rounding: 1e-6
# relative (Adam divides rounding noise by its eps 1e-8). In float, right after the ActNorms'
# data-dependent init some gradients are exactly zero in exact arithmetic (an ActNorm's shift,
# whose output was just made zero-mean) and float rounding leaves noise there, which Adam's
# m/√v turns into steps of the full learning rate; another summation order (2 shards instead of
# one batch, or another device) gives other noise, so float runs from scratch part at ~1e-4
# within a few steps. With the settings below the 1-rank float run is itself 6e-4 from the
# exact (double) one by step 20, and 2 ranks 3e-4 from 1 rank (at a constant --lr 2e-3 both
# grow to ~1e-2). That comparison gets 5e-3, which still catches a wrong average or shard
# (1e-2 and more from the first steps). From a trained checkpoint the gradients are signal,
# and 1 and 2 ranks agree within 1e-4 (measured: 3e-7).
set -u
glowcl=$1
tools=$(cd "$(dirname "$0")/../tools" && pwd)
if [ "${2:-no}" != yes ]; then
    echo "glowcl is built without MPI (meson -Dmpi=disabled, or no MPI found): skipped"
    exit 77
fi
if ! command -v mpirun >/dev/null; then
    echo "no mpirun on PATH (Debian: openmpi-bin): skipped"
    exit 77
fi
# As root (CI containers) Open MPI wants --allow-run-as-root; --oversubscribe lets 2 ranks run
# on a machine with fewer cores. Containers often forbid the cross-process memory copies
# (CMA, ptrace rights) of Open MPI's shared-memory transport, which then fails with "Read -1,
# expected N, errno = 1"; plain copies through shared memory work everywhere.
mpirun="mpirun --allow-run-as-root --oversubscribe --mca btl_vader_single_copy_mechanism none"
failures=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
unset GLOWCL_DEVICE GLOWCL_KERNEL_DIR

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# run NAME COMMAND...: runs, keeping stdout+stderr in NAME.out; a failure is reported.
run() {
    name=$1; shift
    if "$@" >"$name.out" 2>&1; then return 0; fi
    fail "$name: exit $?: $*"; sed 's/^/    /' "$name.out"
    return 1
}

# same_losses WHAT A.log B.log TOLERANCE: the per-step losses of two --log files agree within
# TOLERANCE relative, step for step, and there are as many steps as expected.
same_losses() {
    awk -v what="$1" -v tol="$4" -v steps="$5" '
        /^#/ { next }
        FNR == NR { loss[$1] = $2; next }
        { seen++
          if (!($1 in loss)) { print "FAIL: " what ": step " $1 " missing"; bad = 1; next }
          rel = $2 - loss[$1]; if (rel < 0) rel = -rel; rel /= (loss[$1] < 0 ? -loss[$1] : loss[$1])
          if (rel > worst) { worst = rel; at = $1 }
          if (!(rel <= tol)) bad = 1 }
        END { if (seen != steps) { print "FAIL: " what ": " seen " steps, expected " steps; bad = 1 }
              printf "%s: %s: max relative loss difference %.2e (step %s), tolerance %g\n",
                     bad ? "FAIL" : "ok", what, worst, at, tol
              exit bad }' "$2" "$3" || failures=$((failures + 1))
}

moons="train moons --steps 20 --batch 256 --lr 1e-3 --constant-lr --test-n 100"

# Reference path, from scratch: the ActNorm init on the global batch, shards, averaging.
run ref1 "$glowcl" $moons --reference --out ref1 --log ref1.log &&
run ref2 $mpirun -np 2 "$glowcl" $moons --reference --out ref2 --log ref2.log &&
same_losses "moons, reference path, 2 ranks vs 1" ref1.log ref2.log 1e-6 20

# The OpenCL device, from scratch.
run cl1 "$glowcl" $moons --out cl1 --log cl1.log &&
run cl2 $mpirun -np 2 "$glowcl" $moons --out cl2 --log cl2.log &&
same_losses "moons, OpenCL from scratch, 2 ranks vs 1" cl1.log cl2.log 5e-3 20

# The OpenCL device from cl1's checkpoint (step 20) to step 40, once with 1 rank and once with
# 2: also a resume with another rank count than the run that wrote the checkpoint.
if [ -f cl1/model.glowcl ]; then
    mkdir -p one two && cp cl1/model.glowcl one/ && cp cl1/model.glowcl two/
    resume="train moons --steps 40 --batch 256 --lr 1e-3 --constant-lr --test-n 100 --resume"
    run one "$glowcl" $resume --out one --log one.log &&
    run two $mpirun -np 2 "$glowcl" $resume --out two --log two.log &&
    same_losses "moons, OpenCL, steps 21-40 resumed, 2 ranks vs 1" one.log two.log 1e-4 20
    grep -q "resuming" two.out || fail "the 2-rank resume does not say it resumes"
fi

# Images: the dequantisation noise and minibatch draws of the global batch, then shards.
python3 "$tools/make_tiny_cifar.py" tiny 32 8 >/dev/null || fail "make_tiny_cifar.py"
images="train images --data cifar10:tiny --levels 2 --depth 2 --hidden 8 --batch 4 --steps 10
        --warmup 0 --every 10 --test-n 4 --reference"
run img1 "$glowcl" $images --out img1 --log img1.log &&
run img2 $mpirun -np 2 "$glowcl" $images --out img2 --log img2.log &&
same_losses "images, reference path, 2 ranks vs 1" img1.log img2.log 1e-6 10

# Rank 0 alone writes: one loss log line per step, not one per rank.
[ "$(grep -c -v '^#' cl2.log 2>/dev/null)" = 20 ] || fail "cl2.log has not exactly 20 steps"

# A global batch the ranks cannot split evenly.
$mpirun -np 2 "$glowcl" train moons --steps 2 --batch 255 --out odd >odd.out 2>&1
code=$?
if [ "$code" -ne 2 ] || ! grep -q "must split evenly over the 2 processes" odd.out; then
    fail "--batch 255 on 2 ranks: exit $code"; sed 's/^/    /' odd.out
else
    echo "ok: --batch 255 on 2 ranks refused (exit 2)"
fi

# One rank failing before training (here its entry of a -d list is empty) while the other is
# ready: both must end, with the failing rank's code, not wait for each other.
timeout 120 $mpirun -np 2 "$glowcl" train moons --steps 5 -d 0, --out lone >lone.out 2>&1
code=$?
if [ "$code" -ne 2 ] || ! grep -q "another rank ended before training" lone.out; then
    fail "one rank failing before training: exit $code (124: it hung)"; sed 's/^/    /' lone.out
else
    echo "ok: one rank failing before training ends both (exit 2)"
fi

# Ranks that drift apart: one on the reference path (double), one on OpenCL (float) round
# differently, which the parameter check must catch at its first look and end the run.
$mpirun -np 1 "$glowcl" train moons --steps 5 --batch 64 --sync-check 1 --out drift --reference \
    : -np 1 "$glowcl" train moons --steps 5 --batch 64 --sync-check 1 --out drift >drift.out 2>&1
code=$?
if [ "$code" -eq 0 ] || ! grep -q "parameters differ after step 1" drift.out; then
    fail "drifting ranks: exit $code"; sed 's/^/    /' drift.out
else
    echo "ok: drifting ranks stopped after step 1 (exit $code)"
fi

# Other commands are one process.
$mpirun -np 2 "$glowcl" devices >devices.out 2>&1
code=$?
if [ "$code" -ne 2 ] || ! grep -q "runs in one process" devices.out; then
    fail "devices on 2 ranks: exit $code"; sed 's/^/    /' devices.out
else
    echo "ok: devices on 2 ranks refused (exit 2)"
fi

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
