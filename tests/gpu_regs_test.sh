#!/bin/sh
# tools/gpu-regs.sh, the register budget of the kernels on an AMD GPU (docs/kernels.md):
# - every kernel of every kernel file gets a well-formed row: as many rows as the files,
#   preprocessed with the gpu set's options, declare kernels (so no kernel goes unreported);
# - --only, a file list, --check, --keep, and the exits: a file that does not compile (1, with the
#   compiler's message), an unknown file or option (2).
# It fails, not skips, without clang-15 or libclc-15: tools/install-deps.sh installs both, and a
# skipped budget check would read as a passed one.
# Usage: gpu_regs_test.sh PATH-TO-glowcl
set -u
glowcl=$1
. "$(dirname "$0")/expect.sh"
root="$(cd "$(dirname "$0")/.." && pwd)"
tool="$root/tools/gpu-regs.sh"
unset GLOWCL_KERNELS GLOWCL_KERNEL_DIR GLOWCL_SHAPES GLOWCL_VERBOSE

"$tool" --glowcl "$glowcl" --keep "$work/built" >"$work/table" 2>&1
rc=$?
if [ "$rc" -eq 77 ]; then
    cat "$work/table"
    echo "FAIL: gpu-regs needs clang-15 and libclc-15 (tools/install-deps.sh installs them)"
    exit 1
fi
[ "$rc" -eq 0 ] || fail "gpu-regs over every kernel file: exit $rc"
sed 's/^/    /' "$work/table"

# The kernels each build declares, preprocessed with its options as the tool built it.
for kept in "$work/built"/*.options; do
    label=$(basename "$kept" .options)
    # shellcheck disable=SC2046
    clang-15 -E -x cl $(cat "$kept") "$work/built/$label" 2>/dev/null | python3 -c '
import re, sys
for name in re.findall(r"\b(?:__)?kernel\b[^;{}]*?\bvoid\s+(\w+)\s*\(", sys.stdin.read()):
    print(sys.argv[1], name)' "$label"
done >"$work/declared"
awk 'NR > 3 && /^[^ ]/ && NF == 8 { print $1, $2 }' "$work/table" | sort >"$work/reported"
sort "$work/declared" >"$work/declared.sorted"
if [ -s "$work/declared.sorted" ] && cmp -s "$work/reported" "$work/declared.sorted"; then
    echo "ok: a row for each of the $(wc -l <"$work/reported") kernels declared"
else
    fail "rows differ from the kernels declared (< reported, > declared):"
    diff "$work/reported" "$work/declared.sorted" | sed 's/^/    /'
fi
awk 'NR > 3 && /^[^ ]/ && NF == 8 && !($3 ~ /^[0-9]+$/ && $4 ~ /^[0-9]+$/ && $5 ~ /^[0-9]+$/ &&
     $6 ~ /^[0-9]+$/ && $7 ~ /^[0-9]+$/ && $8 ~ /^[0-9]+$/) { print; bad = 1 }
     END { exit bad }' "$work/table" || fail "a row has a value that is not a number"
tail -1 "$work/table" | grep -q "kernels use scratch or more than 128 VGPRs\|none of the .* kernels uses" ||
    fail "no summary line"

expect_exit 0 "--only and a file" -- "$tool" --glowcl "$glowcl" --only '^squeeze_apply$' cl/squeeze.cl
[ "$(grep -c '^squeeze.cl ' "$work/out")" -eq 1 ] || fail "--only squeeze_apply: not one row"
expect_text "none of the 1 kernels uses scratch" "summary of one kernel"
expect_exit 0 "--check on a kernel within the budget" -- \
    "$tool" --glowcl "$glowcl" --check --only '^squeeze_apply$' squeeze.cl
expect_exit 2 "--only matching nothing" -- "$tool" --glowcl "$glowcl" --only '^no_such_kernel$' squeeze.cl
expect_exit 2 "a file that is not a kernel file" -- "$tool" --glowcl "$glowcl" no_such.cl
expect_text "not a kernel file of glowcl's" "unknown file message"
expect_exit 2 "an unknown option" -- "$tool" --glowcl "$glowcl" --frobnicate
mkdir "$work/kernels"
echo '__kernel void squeeze_apply(__global float *x) { x[0] = not_declared; }' >"$work/kernels/squeeze.cl"
expect_exit 1 "a file that does not compile" -- \
    env GLOWCL_KERNEL_DIR="$work/kernels" "$tool" --glowcl "$glowcl" squeeze.cl split.cl
expect_text "not_declared" "the compiler's message is shown"
expect_text "^split.cl " "the other files are still reported"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all gpu-regs checks passed"
