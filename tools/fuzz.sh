#!/bin/sh
# Fuzzes glowcl's input parsers with libFuzzer, one target after another:
#   tools/fuzz.sh [SECONDS] [TARGET...]      (SECONDS per target, default 60; targets: archive
#                                             model csv cifar png idx npy, default all)
# Sets up build-fuzz with clang and -Dfuzz=true if needed, builds the targets of fuzz/, runs each
# for SECONDS from its seeds in fuzz/corpus/TARGET (new inputs go to build-fuzz/fuzz-corpus/,
# crashing ones to build-fuzz/fuzz-artifacts/TARGET/, the log to build-fuzz/fuzz-logs/), and
# prints per target the inputs executed and whether a crash was found. Exits 1 on any crash.
set -eu

cd "$(dirname "$0")/.."
seconds=${1:-60}
case $seconds in
'' | *[!0-9]*) echo "usage: tools/fuzz.sh [SECONDS] [TARGET...]" >&2; exit 2 ;;
esac
[ $# -gt 0 ] && shift
targets=${*:-archive model csv cifar png idx npy}
build="build-fuzz"

if [ ! -f "$build/build.ninja" ]; then
    CC=clang meson setup "$build" -Dfuzz=true -Db_lundef=false
fi
# shellcheck disable=SC2046 # one word per target
ninja -C "$build" $(for t in $targets; do printf 'fuzz/fuzz_%s ' "$t"; done)

# The targets write their inputs to files; tmpfs spares the disk.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    TMPDIR=/dev/shm
    export TMPDIR
fi
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

failed=0
summary=""
for t in $targets; do
    corpus=$build/fuzz-corpus/$t
    artifacts=$build/fuzz-artifacts/$t
    log=$build/fuzz-logs/$t.log
    mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
    dict=""
    [ -f "fuzz/$t.dict" ] && dict="-dict=fuzz/$t.dict"
    echo "fuzzing $t for ${seconds} s (log: $log)"
    rc=0
    # shellcheck disable=SC2086
    "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 -timeout=30 \
        -rss_limit_mb=2048 -artifact_prefix="$artifacts/" $dict "$corpus" "fuzz/corpus/$t" \
        >"$log" 2>&1 || rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    found=$(grep -o "Test unit written to .*" "$log" | sed 's/Test unit written to //' | tr '\n' ' ')
    if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
        failed=1
        verdict="CRASH (exit $rc) ${found:-see $log}"
        grep -E "^(==[0-9]+==ERROR|SUMMARY|.*runtime error|fuzz check failed)" "$log" | head -n 5 >&2 || true
    else
        verdict="no crash"
    fi
    summary="$summary$(printf '%-8s %12s executions  %s' "$t" "${runs:-?}" "$verdict")
"
done

echo
echo "target     executions (in ${seconds} s each)"
printf '%s' "$summary"
exit $failed
