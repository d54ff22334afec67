#!/bin/bash
# glowcl's bench against PyTorch CUDA on an NVIDIA machine lent by the `device` tool, which
# starts bare and can fetch nothing: the build's dependencies travel as Debian 12 packages.
#
#   tools/bench/gpu.sh prepare    here: download the packages into .gpu-debs/ (git-ignored) and
#                                 print the device call to make
#   tools/bench/gpu.sh run        there: unpack them into a private prefix, register NVIDIA's
#                                 OpenCL driver, build glowcl, list devices, check, and run
#                                 tools/bench/compare.py with PyTorch on CUDA; results in $OUT
#   tools/bench/gpu.sh simulate   here: `run` on a clone of this checkout with PoCL as the
#                                 device and the system's copies of the packages hidden
#
# Settings of `run` (environment; the defaults are for the GPU machine):
#   GPU_BENCH_OPENCL_LIB   the OpenCL driver library to register (default: NVIDIA's
#                          libnvidia-opencl.so.1, searched for)
#   GPU_BENCH_DEVICE       glowcl's device flags (default: -t gpu)
#   GPU_BENCH_TORCH        torch_glow.py's flags (default: --device cuda)
#   GPU_BENCH_ARGS         flags for both sides of compare.py (default: none, the full bench)
#   GPU_BENCH_CHECK        0 skips `glowcl check` (default 1)
#   GPU_BENCH_LOW          0 skips the extra image step with --memory low (default 1)
#   GPU_BENCH_BUDGET       seconds the whole run may take (default 420); each stage's timeout
#                          is cut to what is left, so the device call ends with its logs
#   GPU_BENCH_WORK         scratch folder (default /tmp/gpubench)
#   GPU_BENCH_CARRIED_TOOLS  1: build with the carried meson and ninja even where the machine
#                          has its own (default 0: the machine's, the carried ones as fallback)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
debs_dir=.gpu-debs

# What the build needs beyond a C compiler and Python: the OpenCL headers and ICD loader,
# CLBlast, libpng (with zlib's headers, which libpng's pkg-config file asks for), Check (meson
# setup needs it although the bench does not), pkgconf, and meson and ninja in case the machine
# lacks them. clinfo shows what the loader found when glowcl finds no device.
packages="ocl-icd-libopencl1 ocl-icd-opencl-dev opencl-c-headers libclblast1 libclblast-dev
libpng16-16 libpng-dev zlib1g-dev check libsubunit0 libsubunit-dev pkgconf-bin libpkgconf3
meson ninja-build clinfo"

usage() {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
    exit 2
}

# ---------------------------------------------------------------- prepare (here)

prepare() {
    cd "$repo"
    if [ "$(dpkg --print-architecture 2>/dev/null)" != amd64 ]; then
        echo "gpu.sh prepare: needs an amd64 Debian 12 machine (the GPU machine is x86-64)" >&2
        exit 1
    fi
    local exclude
    exclude=$(git rev-parse --git-path info/exclude)
    mkdir -p "$(dirname "$exclude")"
    grep -qxF "/$debs_dir/" "$exclude" 2>/dev/null || echo "/$debs_dir/" >>"$exclude"
    # A fresh folder: two versions of one package would be unpacked in no defined order.
    rm -rf "$debs_dir"
    mkdir "$debs_dir"
    # shellcheck disable=SC2086  # the list is meant to split into package names
    if ! (cd "$debs_dir" && apt-get download -q $packages); then
        echo "gpu.sh prepare: apt-get download failed (try apt-get update first)" >&2
        exit 1
    fi
    echo
    ls -1 "$debs_dir"
    echo "$(find "$debs_dir" -name '*.deb' | wc -l) packages, $(du -sh "$debs_dir" | cut -f1)" \
        "in $repo/$debs_dir (ignored by git, so the call must carry it)."
    cat <<EOF

Make this device call (the run should take about 3-5 minutes; GPU_BENCH_BUDGET, 420 s,
caps it so that its logs come back):

  run  command:   bash tools/bench/gpu.sh run
       carry:     [".gpu-debs"]
       timeout_s: 540

It returns, under files_at: gpu.log (everything printed), bench.json (both sides' numbers and
the ratios, compare.py --out), bench-low.json (glowcl's image step with --memory low),
devices.json, check.txt, and on a failed build meson-log.txt.
EOF
}

# ---------------------------------------------------------------- run (there)

start_s=$SECONDS
stage_name=""
failed=""

stage() {
    stage_name=$1
    echo
    echo "== [$(( SECONDS - start_s )) s] $stage_name"
}

# A stage that cannot go on: say which, and why, on one line that is easy to find in the log.
fatal() {
    echo "gpu.sh: FAILED in stage '$stage_name': $*" >&2
    failed="$failed [$stage_name]"
    return 1
}

# Seconds a stage may take: its own cap, cut to what the budget has left after `reserve`
# seconds kept for what must still run (PyTorch's side), never under 10.
limit() {
    local cap=$1 reserve=${2:-0} left
    left=$(( budget - (SECONDS - start_s) - reserve ))
    if [ "$left" -lt "$cap" ]; then cap=$left; fi
    if [ "$cap" -lt 10 ]; then cap=10; fi
    echo "$cap"
}

unpack() {
    stage "unpack the carried packages into $prefix"
    local count=0 deb
    [ -d "$repo/$debs_dir" ] || { fatal "no $debs_dir/ in the repo: run 'tools/bench/gpu.sh \
prepare' here first and name .gpu-debs in the call's carry"; return 1; }
    rm -rf "$prefix"
    mkdir -p "$prefix"
    for deb in "$repo/$debs_dir"/*.deb; do
        [ -e "$deb" ] || break
        # Into the prefix, never /: the machine's own libraries stay as they are.
        dpkg-deb -x "$deb" "$prefix" || { fatal "dpkg-deb -x $deb"; return 1; }
        count=$((count + 1))
    done
    [ "$count" -gt 0 ] || { fatal "$debs_dir/ holds no .deb"; return 1; }
    libdir=$prefix/usr/lib/x86_64-linux-gnu
    for need in "$libdir/libOpenCL.so" "$libdir/libclblast.so" "$libdir/pkgconfig/libpng.pc" \
        "$prefix/usr/include/CL/cl.h" "$prefix/usr/bin/pkgconf"; do
        [ -e "$need" ] || { fatal "$need missing after unpacking: rerun prepare"; return 1; }
    done
    echo "$count packages"
}

# Finds the OpenCL driver library and lists it, alone, in a private vendors folder for the
# carried ICD loader (ocl-icd): the machine's /etc/OpenCL/vendors may be absent or empty, and
# / is not ours to write.
register_icd() {
    stage "register the OpenCL driver with the ICD loader"
    local lib=${GPU_BENCH_OPENCL_LIB:-} dir icd
    if [ -z "$lib" ]; then
        # The driver's own folder first (a read-only mount there), then the usual places.
        for dir in /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/x86_64-linux-gnu \
            /usr/lib64 /usr/lib /usr/local/cuda/lib64 /usr/local/cuda/compat \
            /usr/local/cuda/compat/lib; do
            if [ -e "$dir/libnvidia-opencl.so.1" ]; then lib=$dir/libnvidia-opencl.so.1; break; fi
        done
    fi
    if [ -z "$lib" ]; then
        for icd in /etc/OpenCL/vendors/*.icd; do
            [ -e "$icd" ] && grep -qi nvidia "$icd" && lib=$(head -n1 "$icd") && break
        done
    fi
    if [ -z "$lib" ]; then
        lib=$(ldconfig -p 2>/dev/null | awk '/libnvidia-opencl\.so/ && !n++ {print $NF}')
    fi
    if [ -z "$lib" ]; then
        lib=$(timeout 30 find / -xdev \( -path /proc -o -path /sys \) -prune -o \
            -name 'libnvidia-opencl.so*' -print 2>/dev/null | head -n1 || true)
    fi
    if [ -z "$lib" ]; then
        echo "NVIDIA libraries the machine has:"
        find /usr/local/nvidia -maxdepth 2 -name '*nvidia*' 2>/dev/null | head -40 | grep . ||
            echo "(none under /usr/local/nvidia)"
        fatal "no libnvidia-opencl.so found (searched /usr/local/nvidia, /usr/lib*, \
/usr/local/cuda, /etc/OpenCL/vendors, ldconfig, find /): NVIDIA's OpenCL driver is not on \
this machine; set GPU_BENCH_OPENCL_LIB=PATH if it is somewhere else"
        return 1
    fi
    echo "driver library: $lib"
    mkdir -p "$work/vendors"
    echo "$lib" >"$work/vendors/gpu.icd"
    export OCL_ICD_VENDORS=$work/vendors
    # The driver's folder also holds what it loads (libcuda.so.1, the PTX JIT compiler). A bare
    # name (from a vendors file) is left to the dynamic loader's own search.
    run_path=$libdir
    case $lib in /*) run_path=$run_path:$(dirname "$lib") ;; esac
    run_path=$run_path${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    local out
    out=$(LD_LIBRARY_PATH=$run_path "$prefix/usr/bin/clinfo" -l 2>&1 || true)
    echo "$out"
    if ! grep -q 'Platform #' <<<"$out"; then
        echo "-- clinfo, with the loader's trace (OCL_ICD_DEBUG=15):"
        LD_LIBRARY_PATH=$run_path OCL_ICD_DEBUG=15 "$prefix/usr/bin/clinfo" 2>&1 | head -40
        echo "-- loading the driver library by itself (dlopen):"
        LD_LIBRARY_PATH=$run_path python3 -c 'import ctypes, sys; ctypes.CDLL(sys.argv[1]);
print("loads")' "$lib" 2>&1 | tail -n1
        echo "-- what it cannot find (ldd):"
        { LD_LIBRARY_PATH=$run_path ldd "$lib" 2>&1 || true; } |
            grep -iE 'not found|cannot|no such' || echo "(nothing)"
        fatal "the ICD loader found no OpenCL platform in $lib"
        return 1
    fi
}

# An executable file of that name on PATH (bash's `command -v` also names one it may not run).
have() {
    local path
    path=$(command -v "$1") && [ -f "$path" ] && [ -x "$path" ]
}

# meson, ninja: the machine's when it has them (pip's, in the torch venv), else the carried
# Debian ones, which run on any Python 3. tool_env holds what the build commands alone need.
find_tools() {
    local carried=${1:-${GPU_BENCH_CARRIED_TOOLS:-0}}
    tool_env=()
    if [ "$carried" = 0 ] && have meson; then
        meson_cmd=(meson)
    else
        # The carried meson's modules; ninja also runs meson (e.g. its symbol extractor).
        tool_env=("PYTHONPATH=$prefix/usr/lib/python3/dist-packages${PYTHONPATH:+:$PYTHONPATH}")
        meson_cmd=(python3 "$prefix/usr/bin/meson")
    fi
    if [ "$carried" = 0 ] && have ninja; then
        ninja_cmd=ninja
    else
        ninja_cmd=$prefix/usr/bin/ninja
    fi
    # meson finds ninja on PATH; this folder puts the chosen one there, and a pkg-config that
    # is the carried pkgconf, which reads only the prefix's .pc files (PKG_CONFIG_LIBDIR) and
    # points them into it (PKG_CONFIG_SYSROOT_DIR, since they say prefix=/usr).
    mkdir -p "$work/bin"
    ln -sf "$(command -v "$ninja_cmd")" "$work/bin/ninja"
    cat >"$work/bin/pkg-config" <<EOF
#!/bin/sh
LD_LIBRARY_PATH=$libdir PKG_CONFIG_LIBDIR=$libdir/pkgconfig:$prefix/usr/share/pkgconfig \\
PKG_CONFIG_SYSROOT_DIR=$prefix PKG_CONFIG_SYSTEM_INCLUDE_PATH= \\
PKG_CONFIG_SYSTEM_LIBRARY_PATH= exec $prefix/usr/bin/pkgconf "\$@"
EOF
    chmod +x "$work/bin/pkg-config"
    export PATH=$work/bin:$PATH PKG_CONFIG=$work/bin/pkg-config
    unset PKG_CONFIG_PATH
}

build() {
    stage "build glowcl"
    local cc_cmd=${CC:-}
    if [ -z "$cc_cmd" ]; then
        for cc_cmd in cc gcc clang ""; do
            if [ -n "$cc_cmd" ] && have "$cc_cmd"; then break; fi
        done
    fi
    if [ -z "$cc_cmd" ] || ! have "$cc_cmd"; then
        fatal "no C compiler (cc, gcc or clang; or set CC) on this machine"
        return 1
    fi
    export CC=$cc_cmd
    echo "cc: $("$cc_cmd" --version | head -n1)"
    # The machine's meson first (unless told otherwise), and if its setup fails, the carried one.
    local carried
    for carried in "${GPU_BENCH_CARRIED_TOOLS:-0}" 1; do
        find_tools "$carried"
        # The linker resolves libclblast's own needs (libOpenCL.so.1) through LD_LIBRARY_PATH;
        # set for the build alone, so that PyTorch's process does not see the carried libraries.
        tool_env+=("LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}")
        echo "meson: ${meson_cmd[*]} $(env "${tool_env[@]}" "${meson_cmd[@]}" --version)"
        echo "ninja: $(command -v ninja) $(ninja --version)"
        echo "pkg-config: libpng $(pkg-config --modversion libpng), clblast \
$(pkg-config --modversion clblast), OpenCL $(pkg-config --modversion OpenCL)"
        rm -rf "$work/build"
        if env "${tool_env[@]}" timeout "$(limit 120 120)" \
            "${meson_cmd[@]}" setup "$work/build" "$repo" >"$work/setup.log" 2>&1; then
            break
        fi
        cat "$work/setup.log"
        cp "$work/build/meson-logs/meson-log.txt" "$OUT/meson-log.txt" 2>/dev/null || true
        if [ "$carried" = 1 ]; then
            fatal "meson setup (its log: meson-log.txt)"
            return 1
        fi
        echo "gpu.sh: meson setup failed with the machine's meson; again with the carried one"
    done
    grep -E 'Run-time dependency|Found pkg-config' "$work/setup.log" || true
    if ! env "${tool_env[@]}" timeout "$(limit 300 120)" ninja -C "$work/build" glowcl
    then
        cp "$work/build/meson-logs/meson-log.txt" "$OUT/meson-log.txt" 2>/dev/null || true
        fatal "ninja (compiler errors above)"
        return 1
    fi
    # Run-time: the carried libraries first, then the driver's folder (set by register_icd).
    cat >"$work/bin/glowcl" <<EOF
#!/bin/sh
LD_LIBRARY_PATH=$run_path exec $work/build/glowcl "\$@"
EOF
    chmod +x "$work/bin/glowcl"
    echo "libraries glowcl links (meson passes them by absolute path):"
    grep -o "$libdir/lib[A-Za-z0-9_]*\.so" "$work/build/build.ninja" | sort -u
    echo "libraries glowcl loads:"
    LD_LIBRARY_PATH=$run_path ldd "$work/build/glowcl" "$work/build/libglowcl.so" |
        grep -E 'OpenCL|clblast|png|libz' | sort -u
}

devices() {
    stage "glowcl devices"
    "$work/bin/glowcl" devices || { fatal "glowcl devices exited $?"; return 1; }
    "$work/bin/glowcl" devices --json >"$OUT/devices.json" || true
}

check() {
    stage "glowcl check ${device_flags[*]}"
    local status=0
    timeout "$(limit 120 240)" "$work/bin/glowcl" check "${device_flags[@]}" 2>&1 |
        tee "$OUT/check.txt" || status=$?
    if [ "$status" -ne 0 ]; then
        # The bench still runs: its numbers come back marked by this line.
        fatal "glowcl check exited $status (124: timed out); the bench below ran on a device \
that failed its check" || true
    fi
}

bench() {
    stage "glowcl bench and torch_glow.py ${torch_flags[*]}, one after the other"
    local skip=() sides=2
    if ! [ -x "$work/bin/glowcl" ]; then
        skip=(--skip-glowcl)  # no glowcl to run: PyTorch's numbers still come back
        sides=1
    fi
    if ! python3 -c 'import torch' 2>/dev/null; then
        fatal "$(command -v python3) cannot import torch"
        return 1
    fi
    if [[ " ${torch_flags[*]} " == *" cuda "* ]] &&
        ! python3 -c 'import sys, torch; sys.exit(not torch.cuda.is_available())'; then
        fatal "python3's torch $(python3 -c 'import torch; print(torch.__version__)') sees no \
CUDA device"
        return 1
    fi
    # shellcheck disable=SC2086  # GPU_BENCH_ARGS is a list of flags
    python3 "$here/compare.py" --glowcl "$work/bin/glowcl" --python python3 \
        --glowcl-args "${device_flags[*]}" --torch-args "${torch_flags[*]}" \
        --timeout "$(( $(limit 600) / sides ))" --out "$OUT/bench.json" "${skip[@]}" ${GPU_BENCH_ARGS:-} ||
        fatal "compare.py exited $?"
}

# The image step again in the low-memory mode, which the memory target is about; its JSON line
# goes to bench-low.json.
bench_low() {
    stage "glowcl bench --only image --memory low ${device_flags[*]}"
    local status=0
    timeout "$(limit 120)" "$work/bin/glowcl" bench --json --only image --memory low \
        "${device_flags[@]}" >"$work/bench-low.txt" || status=$?
    cat "$work/bench-low.txt"
    grep '^JSON ' "$work/bench-low.txt" | tail -n1 | cut -c6- >"$OUT/bench-low.json"
    [ "$status" -eq 0 ] || fatal "glowcl bench --memory low exited $status (124: timed out)"
}

run() {
    : "${OUT:?gpu.sh run: set OUT to the folder for the results (the device tool sets it)}"
    mkdir -p "$OUT"
    # Everything printed also goes to $OUT/gpu.log, which comes back even if the call times out.
    if [ -z "${GPU_BENCH_LOGGED:-}" ]; then
        local status=0
        GPU_BENCH_LOGGED=1 bash "${BASH_SOURCE[0]}" run 2>&1 | tee "$OUT/gpu.log" ||
            status=${PIPESTATUS[0]}
        return "$status"
    fi
    budget=${GPU_BENCH_BUDGET:-420}
    work=${GPU_BENCH_WORK:-/tmp/gpubench}
    prefix=$work/prefix
    libdir=$prefix/usr/lib/x86_64-linux-gnu
    run_path=$libdir
    read -r -a device_flags <<<"${GPU_BENCH_DEVICE:--t gpu}"
    read -r -a torch_flags <<<"${GPU_BENCH_TORCH:---device cuda}"
    mkdir -p "$work"

    stage "the machine"
    echo "$(uname -srm); $(nproc) cores; $(grep -m1 PRETTY_NAME /etc/os-release 2>/dev/null)"
    nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || true
    python3 -c 'import torch; print("python3", __import__("sys").version.split()[0], "torch",
torch.__version__, "CUDA", torch.version.cuda, "available:", torch.cuda.is_available())' 2>&1 ||
        echo "python3 has no torch"
    echo "glowcl $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo '(not a git checkout)')\
$(git -C "$repo" status --porcelain 2>/dev/null | grep -q . && echo ' + local changes')"

    if unpack && register_icd && build && devices; then
        if [ "${GPU_BENCH_CHECK:-1}" != 0 ]; then check; fi
    else
        rm -f "$work/bin/glowcl"
    fi
    bench || true
    if [ -x "$work/bin/glowcl" ] && [ "${GPU_BENCH_LOW:-1}" != 0 ]; then bench_low || true; fi

    echo
    if [ -n "$failed" ]; then
        echo "== [$(( SECONDS - start_s )) s] done; FAILED:$failed (search the log for 'FAILED in stage')"
        return 1
    fi
    echo "== [$(( SECONDS - start_s )) s] done; results in $OUT: $(cd "$OUT" && echo *)"
}

# ---------------------------------------------------------------- simulate (here)

# `run` on this machine, as far as it can go without a GPU: a clone of the checkout (committed
# files plus this working tree's tools/bench/), PoCL registered in place of NVIDIA's driver,
# PyTorch on the CPU, a short bench. Inside a private mount namespace the system's copies of
# the carried packages' headers, libraries, .pc files and tools are covered up, so the build
# can only succeed from the extracted ones. Not the ICD loader and libpng, which Debian's torch
# loads (and covering a libX.so link covers the libX.so.N it points to): the build log shows
# that glowcl links the carried files by absolute path and ldd that it loads them.
simulate() {
    cd "$repo"
    [ -d "$debs_dir" ] || { echo "gpu.sh simulate: run 'gpu.sh prepare' first" >&2; exit 1; }
    local sim=${GPU_BENCH_SIM_DIR:-/tmp/gpubench-sim} pocl
    pocl=$(head -n1 /etc/OpenCL/vendors/pocl.icd 2>/dev/null || true)
    case $pocl in /*) ;; *) pocl=$(ldconfig -p | awk '/libpocl\.so/ && !n++ {print $NF}') ;; esac
    [ -n "$pocl" ] || { echo "gpu.sh simulate: PoCL is not installed" >&2; exit 1; }
    rm -rf "$sim"
    git clone -q "$repo" "$sim/repo"
    cp -r tools/bench/. "$sim/repo/tools/bench/"
    cp -r "$debs_dir" "$sim/repo/"
    mkdir -p "$sim/out"
    export OUT=$sim/out GPU_BENCH_WORK=$sim/work
    export GPU_BENCH_OPENCL_LIB=${GPU_BENCH_OPENCL_LIB:-$pocl}
    export GPU_BENCH_DEVICE=${GPU_BENCH_DEVICE:--t cpu} GPU_BENCH_TORCH=${GPU_BENCH_TORCH:---device cpu}
    export GPU_BENCH_ARGS=${GPU_BENCH_ARGS:---only moons --moons-steps 5}
    export GPU_BENCH_CHECK=${GPU_BENCH_CHECK:-0} GPU_BENCH_LOW=${GPU_BENCH_LOW:-0}
    # Debian's torch is /usr/bin/python3's; the GPU machine's is the first python3 on PATH.
    export PATH=/usr/bin:$PATH
    # shellcheck disable=SC2016  # the inner script expands its own variables
    unshare --mount bash -c '
        set -e
        mount --make-rprivate /
        empty=$(mktemp -d)
        for d in /usr/include/CL /usr/include/libpng16 /usr/lib/x86_64-linux-gnu/pkgconfig \
            /usr/share/pkgconfig /etc/OpenCL/vendors; do
            [ -d "$d" ] && mount --bind "$empty" "$d"
        done
        for f in /usr/include/clblast*.h /usr/include/png*.h /usr/include/check*.h \
            /usr/include/zlib.h /usr/lib/x86_64-linux-gnu/libclblast.so.1* \
            /usr/lib/x86_64-linux-gnu/libcheck* /usr/lib/x86_64-linux-gnu/libsubunit* \
            /usr/bin/pkg-config /usr/bin/pkgconf \
            /usr/bin/x86_64-linux-gnu-pkg-config /usr/bin/meson /usr/bin/ninja /usr/bin/clinfo; do
            [ -e "$f" ] && mount --bind /dev/null "$f"
        done
        echo "simulate: system copies covered up; CL/cl.h there now: \
$(ls /usr/include/CL | wc -l) files, libclblast.so $(stat -Lc %s /usr/lib/x86_64-linux-gnu/libclblast.so.1 2>/dev/null || echo gone) bytes"
        cd "$0" && exec bash tools/bench/gpu.sh run
    ' "$sim/repo"
}

case ${1:-} in
    prepare) prepare ;;
    run) run ;;
    simulate) simulate ;;
    *) usage ;;
esac
