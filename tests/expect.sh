# The checks the shell tests share, sourced at their start: $work, a scratch folder removed at
# exit, and failures, the count of failed checks (each prints FAIL and counts, so one run
# reports every failure).
failures=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# expect_exit CODE DESCRIPTION -- COMMAND...: runs, keeps stdout+stderr in $work/out
expect_exit() {
    want=$1; what=$2; shift 3
    "$@" >"$work/out" 2>&1
    got=$?
    if [ "$got" -ne "$want" ]; then
        fail "$what: exit $got, expected $want"; sed 's/^/    /' "$work/out"
    else
        echo "ok: $what (exit $got)"
    fi
}
# expect_text PATTERN DESCRIPTION: the last expect_exit's output matches the grep pattern
expect_text() {
    grep -q -- "$1" "$work/out" || { fail "$2: output lacks '$1'"; sed 's/^/    /' "$work/out"; }
}
