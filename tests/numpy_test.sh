#!/bin/sh
# glowcl's NumPy files against NumPy itself, both ways (tests/npy_interop.c is the C side):
# - what glowcl writes (.npy of each dtype, a scalar, a .npz of three arrays) loads with
#   numpy.load with the same dtypes, shapes and values, and zipfile finds the CRCs right;
# - what NumPy writes (numpy.save, format versions 2.0 and 3.0, big-endian floats,
#   numpy.savez and numpy.savez_compressed) glowcl reads with the same values, and what glowcl
#   does not read (int64, Fortran order) it refuses with a message saying why.
# Skipped (77) when no python3 on PATH, nor Debian's /usr/bin/python3, has numpy: a pyenv or
# virtualenv python earlier on PATH often lacks Debian's python3-numpy.
# Usage: numpy_test.sh PATH-TO-npy_interop
set -u
tool=$1
python=""
for candidate in python3 /usr/bin/python3; do
    if "$candidate" -c "import numpy" 2>/dev/null; then python=$candidate; break; fi
done
if [ -z "$python" ]; then
    echo "SKIP: no python3 with numpy (apt-get install python3-numpy)"
    exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$tool" write "$work" || { echo "FAIL: npy_interop write"; exit 1; }
"$python" - "$tool" "$work" <<'PY'
import subprocess, sys, zipfile
import numpy as np

tool, work = sys.argv[1], sys.argv[2]
failures = 0

def check(ok, what):
    global failures
    print(("ok: " if ok else "FAIL: ") + what)
    failures += not ok

# glowcl -> NumPy
expected = {
    "f32": np.arange(12, dtype=np.float32).reshape(3, 4) * np.float32(0.5) - np.float32(1),
    "f64": np.arange(6, dtype=np.float64).reshape(2, 3) / 3.0,
    "u8": (np.arange(12) * 20).astype(np.uint8).reshape(2, 2, 3),
    "scalar": np.array(2.5),
}
for name, want in expected.items():
    got = np.load(f"{work}/{name}.npy")
    check(got.dtype == want.dtype and got.shape == want.shape and np.array_equal(got, want),
          f"numpy.load({name}.npy): {got.dtype} {got.shape}")
with zipfile.ZipFile(f"{work}/arrays.npz") as z:
    check(z.testzip() is None, "zipfile: every CRC-32 of arrays.npz is right")
with np.load(f"{work}/arrays.npz") as npz:
    keys = list(npz.keys())
    check(keys == ["latent_0", "labels", "bits_per_dim"], f"npz keys {keys}")
    check(np.array_equal(npz["latent_0"], expected["f64"]), "npz latent_0")
    labels = npz["labels"]
    check(labels.dtype == np.uint8 and labels.tolist() == [0, 9, 3, 255], "npz labels")
    check(npz["bits_per_dim"].dtype == np.float32 and
          npz["bits_per_dim"].tolist() == np.array([1.25, 2.5, -3.0, 1e-3], np.float32).tolist(),
          "npz bits_per_dim")

# NumPy -> glowcl
def glowcl_reads(path, *member):
    run = subprocess.run([tool, "read", path, *member], capture_output=True, text=True)
    return run.returncode, run.stdout.strip()

def same(path, want, *member):
    code, out = glowcl_reads(path, *member)
    prefix = f"{want.dtype.name} {tuple(want.shape)}"
    values = [float(v) for v in out[len(prefix):].split()] if out.startswith(prefix) else None
    ok = values is not None and np.array_equal(values, want.astype(np.float64).ravel())
    ok = ok and code == 0
    check(ok, f"glowcl reads {path.split('/')[-1]} {' '.join(member)}: {out[:70]}")

rng = np.random.default_rng(1)
points = rng.normal(size=(5, 2)).astype(np.float32)
np.save(f"{work}/p32.npy", points)
same(f"{work}/p32.npy", points)
big = np.array([1.5, -2.0, 1e-300], dtype=">f8")
np.save(f"{work}/big.npy", big)
same(f"{work}/big.npy", big)
images = rng.integers(0, 256, size=(2, 28, 28), dtype=np.uint8)
np.save(f"{work}/images.npy", images)
same(f"{work}/images.npy", images)
for version in [(2, 0), (3, 0)]:
    path = f"{work}/v{version[0]}.npy"
    with open(path, "wb") as f:
        np.lib.format.write_array(f, points, version=version)
    same(path, points)
np.savez(f"{work}/s.npz", z=points, images=images)
same(f"{work}/s.npz", images, "images")
np.savez_compressed(f"{work}/c.npz", z=points, images=images)
same(f"{work}/c.npz", points, "z")
same(f"{work}/c.npz", images, "images")
np.save(f"{work}/i64.npy", np.arange(3))
code, out = glowcl_reads(f"{work}/i64.npy")
check(code == 3 and "dtype '<i8' is not supported" in out, f"int64 refused: {out}")
np.save(f"{work}/fortran.npy", np.asfortranarray(points))
code, out = glowcl_reads(f"{work}/fortran.npy")
check(code == 3 and "Fortran order" in out, f"Fortran order refused: {out}")
code, out = glowcl_reads(f"{work}/c.npz", "missing")
check(code == 3 and "no array 'missing' (it holds z, images)" in out, f"missing member: {out}")
sys.exit(1 if failures else 0)
PY
