#!/usr/bin/env python3
"""Lists the functions of src/ (and the tools' C) longer than a limit, counted from the line of
the name to the closing brace, as the code is formatted (.clang-format: a function's braces
stand alone in column 0).

    tools/long-functions.py [--limit 80] [PATH ...]     (default: every .c file under src/)

Exits 1 if any function is over the limit."""
import argparse
import os
import pathlib
import re
import subprocess
import sys


def functions(path):
    """(name, first line, line count) of each function defined in the file."""
    lines = pathlib.Path(path).read_text(encoding="utf-8").splitlines()
    out = []
    i = 0
    while i < len(lines):
        if lines[i] == "{":
            # The signature: back up to the line that holds the name and its '('.
            start = i - 1
            while start > 0 and "(" not in lines[start]:
                start -= 1
            while start > 0 and lines[start - 1].strip() and not lines[start - 1].rstrip().endswith(
                    (";", "}", "*/")) and not lines[start - 1].startswith(("#", "/*", " *")):
                start -= 1
            m = re.search(r"(\w+)\s*\(", lines[start] if "(" in lines[start] else lines[i - 1])
            end = i + 1
            while end < len(lines) and lines[end] != "}":
                end += 1
            out.append((m.group(1) if m else "?", start + 1, end - start + 1))
            i = end
        i += 1
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=80)
    parser.add_argument("paths", nargs="*")
    args = parser.parse_args()
    if not args.paths:
        # From the top of the tree, wherever it is run from (meson runs tests in the build).
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], check=True,
                             capture_output=True, text=True).stdout.strip()
        os.chdir(top)
    paths = args.paths or subprocess.run(["git", "ls-files", "src/*.c", "src/**/*.c"],
                                         check=True, capture_output=True,
                                         text=True).stdout.split()
    found = [(n, p, first, count) for p in sorted(set(paths)) for n, first, count in functions(p)]
    if not found:
        sys.exit("long-functions: no functions found (no source files?)")
    long_ones = [f for f in found if f[3] > args.limit]
    for name, path, first, count in sorted(long_ones, key=lambda f: -f[3]):
        print(f"{path}:{first}: {name} {count} lines")
    print(f"long-functions: {len(found)} functions in {len(set(paths))} files, "
          f"{len(long_ones)} over {args.limit} lines")
    sys.exit(1 if long_ones else 0)


if __name__ == "__main__":
    main()
