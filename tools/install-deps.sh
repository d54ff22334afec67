#!/bin/sh
# Installs what glowcl needs to build, test and run on Debian 12 (and derivatives): the OpenCL
# headers and ICD loader, CLBlast, libpng, Check, meson and ninja, PoCL as the CPU OpenCL device
# every machine has, oclgrind for the kernel checks, and Open MPI for data-parallel training
# over several devices or machines (`mpirun -np N glowcl train`; meson builds it in when found),
# clang-format-15 for the test suite's format check (tools/format.sh), zlib for gzip-compressed
# IDX files and deflated .npz archives (libpng-dev pulls it in already; named for what glowcl
# itself uses), and for the tests Fashion-MNIST as IDX files (dataset-fashion-mnist, in
# /usr/share/datasets/fashion-mnist) and NumPy (python3-numpy, which loads glowcl's .npy files
# in tests/numpy_test.sh), and clang-15 with libclc-15 for tools/gpu-regs.sh, the kernels'
# registers on an AMD GPU (clang-15 comes with PoCL anyway; libclc-15 adds ~10 MB, seconds).
# Uses sudo when not run as root.
set -eu
packages="build-essential meson ninja-build pkg-config python3 \
ocl-icd-opencl-dev opencl-headers libclblast-dev libpng-dev zlib1g-dev check \
pocl-opencl-icd oclgrind libopenmpi-dev openmpi-bin clang-format-15 \
dataset-fashion-mnist python3-numpy clang-15 libclc-15"
if [ "$(id -u)" -eq 0 ]; then sudo=""; else sudo="sudo"; fi
$sudo apt-get update -qq
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $packages
