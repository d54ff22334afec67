#!/usr/bin/env python3
"""Reads .npy and .npz files without NumPy (the test machines lack it), for the shell tests of
the latent tools. Usage:
  npy_tool.py shapes FILE.npz                 prints "name dtype shape" per array
  npy_tool.py images-diff X.npy CIFAR_BATCH N [AT,INDEX ...]
      max |x - (pixel + 0.5) / 256| between the images of x (float, any shape ending in
      3 x 32 x 32, taken as rows of 3072) and the images of a CIFAR-10 batch file at their bin
      centres: row i against image i for i < N, or row AT against image INDEX for each pair."""
import ast
import struct
import sys
import zipfile

FORMATS = {"<f4": "f", "<f8": "d", "|u1": "B"}


def parse_npy(data):
    assert data[:6] == b"\x93NUMPY", "not a .npy"
    length = struct.unpack("<H", data[8:10])[0]
    header = ast.literal_eval(data[10:10 + length].decode("latin1"))
    count = 1
    for axis in header["shape"]:
        count *= axis
    code = FORMATS[header["descr"]]
    start = 10 + length
    payload = data[start:start + count * struct.calcsize(code)]
    values = struct.unpack("<%d%s" % (count, code), payload)
    return header["descr"], tuple(header["shape"]), values


def arrays(path):
    if path.endswith(".npy"):
        with open(path, "rb") as f:
            return {"": parse_npy(f.read())}
    with zipfile.ZipFile(path) as z:
        return {n[:-4]: parse_npy(z.read(n)) for n in z.namelist()}


def main():
    what, path = sys.argv[1], sys.argv[2]
    found = arrays(path)
    if what == "shapes":
        for name, (descr, shape, _) in found.items():
            print(name, descr, shape)
    elif what == "images-diff":
        descr, shape, x = found[""]
        with open(sys.argv[3], "rb") as f:
            batch = f.read()
        dims = 3 * 32 * 32
        picks = [tuple(int(v) for v in t.split(",")) for t in sys.argv[5:]]
        if not picks:
            picks = [(i, i) for i in range(int(sys.argv[4]))]
        worst = 0.0
        for at, index in picks:
            pixels = batch[index * (dims + 1) + 1:(index + 1) * (dims + 1)]
            row = x[at * dims:(at + 1) * dims]
            worst = max(worst, max(abs(a - (p + 0.5) / 256) for a, p in zip(row, pixels)))
        print(repr(worst))


main()
