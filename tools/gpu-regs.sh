#!/bin/sh
# The register budget of glowcl's kernels on an AMD GPU, read without one: builds each kernel
# file as the runtime builds it for the gpu kernel set (the same .clh headers in front, the same
# build options, both asked of glowcl itself: `glowcl devices --build-options`), compiles it for
# an AMD GPU with Debian's clang-15 and libclc-15, and prints every kernel's VGPRs, SGPRs,
# spilled VGPRs, scratch memory, local memory and occupancy, from LLVM's resource-usage
# remarks. A kernel with scratch (registers spilled to memory) or over 128 VGPRs (under 8 waves
# a SIMD) runs far from a GPU's peak (issue 16; docs/kernels.md#register-budget-on-a-gpu).
#
# Usage: tools/gpu-regs.sh [options] [FILE.cl ...]   (default: every kernel file)
#   --mcpu GFX        the AMD GPU to compile for (default gfx1030, RDNA2)
#   --only REGEX      only the kernels whose names match the extended regular expression
#   --class CLASS     the device class whose kernel shapes the build takes (default gpu)
#   --kernels SET     the kernel set (default gpu)
#   --check           exit 1 if a kernel shown uses scratch or more than 128 VGPRs
#   --keep DIR        keep in DIR each build's source as compiled (headers in front), its
#                     options (.options), object (.o) and compiler output (.log, the remarks)
#   --glowcl PATH     the glowcl that says how it builds (default build/glowcl; $GLOWCL)
# GLOWCL_KERNEL_DIR=DIR: files there replace cl/'s of the same name, as in glowcl.
# Exit: 0; 1 a file failed to compile (its compiler output is shown) or --check failed;
# 2 bad usage; 77 clang-15 or libclc-15 missing (tools/install-deps.sh installs both).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
glowcl=${GLOWCL:-$root/build/glowcl}
clang=${CLANG:-clang-15}
mcpu=gfx1030
class=gpu
set_name=gpu
only=
check=0
keep=
files=

usage() { awk '/^# Usage:/ { on = 1 } on && !/^#/ { exit } on { sub(/^# ?/, ""); print }' "$0"; }
die() { echo "gpu-regs: $*" >&2; exit 2; }
needs_value() { [ "$1" -ge 2 ] || die "$2 needs a value (see --help)"; }

while [ $# -gt 0 ]; do
    case $1 in
    --mcpu) needs_value $# "$1"; mcpu=$2; shift 2 ;;
    --only) needs_value $# "$1"; only=$2; shift 2 ;;
    --class) needs_value $# "$1"; class=$2; shift 2 ;;
    --kernels) needs_value $# "$1"; set_name=$2; shift 2 ;;
    --glowcl) needs_value $# "$1"; glowcl=$2; shift 2 ;;
    --keep) needs_value $# "$1"; keep=$2; shift 2 ;;
    --check) check=1; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) files="$files $(basename "$1")"; shift ;;
    esac
done

command -v "$clang" >/dev/null 2>&1 || {
    echo "gpu-regs: $clang not found (apt-get install clang-15 libclc-15, or tools/install-deps.sh)"
    exit 77
}
libclc=${LIBCLC:-$(dpkg -L libclc-15 2>/dev/null | grep '/amdgcn--amdhsa\.bc$' | head -1 || true)}
if [ -z "$libclc" ] || [ ! -f "$libclc" ]; then
    echo "gpu-regs: libclc-15's amdgcn--amdhsa.bc not found (apt-get install libclc-15, or" \
        "tools/install-deps.sh; LIBCLC=PATH names another)"
    exit 77
fi
[ -x "$glowcl" ] || die "no glowcl at $glowcl: build it (meson setup build && ninja -C build) or give --glowcl PATH"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
built=$work
if [ -n "$keep" ]; then
    mkdir -p "$keep" || die "cannot make --keep $keep"
    built=$keep
fi

# GLOWCL_KERNELS would override --kernels: this script says which set it builds.
env -u GLOWCL_KERNELS "$glowcl" devices --build-options --kernels "$set_name" --class "$class" \
    >"$work/programs" || die "glowcl devices --build-options failed (above)"
programs=$(grep -v '^#' "$work/programs" | cut -f1 | tr '\n' ' ' | sed 's/ $//')
for f in $files; do
    case " $programs " in *" $f "*) ;; *) die "$f is not a kernel file of glowcl's (they are: $programs)" ;; esac
done

# One row a kernel: file, kernel, VGPRs, SGPRs, spilled VGPRs, scratch, LDS, occupancy. LLVM
# remarks every function; only kernels (entry functions) get an "LDS Size" line, which tells
# them from helpers that were not inlined (whose registers count in their callers').
remarks_to_rows() {
    awk -v file="$1" '
        function emit() { if (name != "" && lds != "") print file, name, v, s, spill, scratch, lds, waves }
        / remark: Function Name: / { emit(); name = $0; sub(/.*Function Name: /, "", name)
                                      sub(/ \[-Rpass.*/, "", name); lds = "" }
        function value() { x = $0; sub(/ \[-Rpass.*/, "", x); sub(/.*: /, "", x); return x }
        / remark: +VGPRs: / { v = value() }
        / remark: +SGPRs: / { s = value() }
        / remark: +VGPRs Spill: / { spill = value() }
        / remark: +ScratchSize / { scratch = value() }
        / remark: +LDS Size / { lds = value() }
        / remark: +Occupancy / { waves = value() }
        END { emit() }' "$2"
}

# As in the runtime, a file of GLOWCL_KERNEL_DIR replaces cl/'s of the same name.
kernel_path() {
    if [ -n "${GLOWCL_KERNEL_DIR:-}" ] && [ -f "$GLOWCL_KERNEL_DIR/$1" ]; then
        echo "$GLOWCL_KERNEL_DIR/$1"
    else
        echo "$root/cl/$1"
    fi
}

failed=0
tab=$(printf '\t')
: >"$work/rows"
# A file glowcl builds more than once (with options of its own, e.g. two register tiles) is
# labelled file#1, file#2, ... in build order, and its builds' options are listed after the table.
: >"$work/seen"
: >"$work/legend"
repeated=" $(grep -v '^#' "$work/programs" | cut -f1 | sort | uniq -d | tr '\n' ' ')"
while IFS="$tab" read -r file headers options; do
    case $file in '#'*) continue ;; esac
    [ -z "$files" ] || case " $files " in *" $file "*) ;; *) continue ;; esac
    label=$file
    echo "$file" >>"$work/seen"
    case $repeated in
    *" $file "*)
        label="$file#$(grep -c "^$file\$" "$work/seen")"
        echo "$label: $options" >>"$work/legend"
        ;;
    esac
    source="$built/$label"
    : >"$source"
    [ "$headers" = "-" ] || for h in $(echo "$headers" | tr ',' ' '); do cat "$(kernel_path "$h")" >>"$source"; done
    cat "$(kernel_path "$file")" >>"$source"
    echo "$options" >"$built/$label.options"
    # $options unquoted: glowcl's build options are words without spaces in them.
    # shellcheck disable=SC2086
    if "$clang" -x cl -target amdgcn-amd-amdhsa -mcpu="$mcpu" -nogpulib \
        -Xclang -mlink-builtin-bitcode -Xclang "$libclc" -Rpass-analysis=kernel-resource-usage \
        $options -c -o "$built/$label.o" "$source" 2>"$built/$label.log"; then
        remarks_to_rows "$label" "$built/$label.log" >>"$work/rows"
    else
        echo "gpu-regs: $label failed to compile for $mcpu with: $options" >&2
        sed 's/^/    /' "$built/$label.log" >&2
        failed=1
    fi
done <"$work/programs"

if [ -n "$only" ]; then
    awk -v only="$only" '$2 ~ only' "$work/rows" >"$work/only"
    mv "$work/only" "$work/rows"
    [ -s "$work/rows" ] || [ "$failed" -eq 1 ] || die "no kernel matches --only '$only'"
fi

echo "glowcl kernels for $mcpu, built as glowcl builds the $set_name set on a $class device ($clang, libclc $libclc)"
awk 'BEGIN { printf "%-18s %-28s %6s %6s %7s %8s %7s %11s\n", "file", "kernel", "VGPRs", "SGPRs",
                    "spilled", "scratch", "LDS", "waves/SIMD"
             printf "%-18s %-28s %6s %6s %7s %8s %7s %11s\n", "", "", "", "", "VGPRs", "B/lane",
                    "B/group", "" }
     { printf "%-18s %-28s %6s %6s %7s %8s %7s %11s\n", $1, $2, $3, $4, $5, $6, $7, $8
       if ($6 > 0 || $3 > 128) { over++; names = names (over > 1 ? ", " : "") $2 } }
     END { if (over) printf "%d of %d kernels use scratch or more than 128 VGPRs: %s\n", over, NR,
                            names >summary
           else printf "none of the %d kernels uses scratch or more than 128 VGPRs\n", NR >summary
           exit over > 0 }' summary="$work/summary" "$work/rows" && over=0 || over=1
[ ! -s "$work/legend" ] || { echo "built more than once:"; sed 's/^/  /' "$work/legend"; }
cat "$work/summary" # the last line, as the issue's acceptance reads it

[ "$failed" -eq 0 ] || { echo "gpu-regs: a kernel file failed to compile (above)" >&2; exit 1; }
[ "$check" -eq 0 ] || [ "$over" -eq 0 ] || exit 1
exit 0
