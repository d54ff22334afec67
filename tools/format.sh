#!/bin/sh
# Formats glowcl's C and OpenCL C with .clang-format, or with --check lists the files whose
# formatting differs and exits 1 (the test suite's `format` test). Debian's clang-format-15
# is the formatter: another version breaks some lines differently, so the check insists on it
# and exits 77 (skipped) where it is missing.
#   tools/format.sh [--check]
set -eu
cd "$(dirname "$0")/.."
formatter=${CLANG_FORMAT:-clang-format-15}
if ! command -v "$formatter" >/dev/null 2>&1; then
    echo "format: $formatter not found (apt-get install clang-format-15); not checked"
    exit 77
fi
check=0
[ "${1:-}" = "--check" ] && check=1
differ=0
files=$(git ls-files '*.c' '*.h' 'cl/*.cl' 'cl/*.clh')
for f in $files; do
    # .clh is OpenCL C too; clang-format only knows the language by the name's ending.
    case "$f" in *.clh) as=x.cl ;; *) as=$f ;; esac
    if [ "$check" -eq 1 ]; then
        if ! "$formatter" --assume-filename="$as" < "$f" | cmp -s - "$f"; then
            echo "format: $f differs from .clang-format (run tools/format.sh)"
            differ=1
        fi
    else
        "$formatter" --assume-filename="$as" < "$f" > "$f.formatted" && mv "$f.formatted" "$f"
    fi
done
# clang-format leaves comments as written (ReflowComments: false keeps their layout), so the
# column limit is checked on its own, in characters (× and ⊙ are one column, three bytes).
if [ "$check" -eq 1 ] && ! python3 - $files <<'PY'
import sys
long_lines = [f"{path}:{number}: {len(line)} columns"
              for path in sys.argv[1:]
              for number, line in enumerate(open(path, encoding="utf-8").read().split("\n"), 1)
              if len(line) > 100]
for entry in long_lines:
    print(f"format: {entry} (the limit is 100)")
sys.exit(1 if long_lines else 0)
PY
then
    differ=1
fi
if [ "$check" -eq 1 ]; then
    echo "format: $(echo "$files" | wc -w) files checked, $([ $differ -eq 0 ] && echo all formatted || echo some differ)"
fi
exit $differ
