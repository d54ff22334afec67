#!/usr/bin/env python3
"""Checks the layering of docs/architecture.md on a built tree: every source file uses (by
#include and by calling what another file defines) only files of its own layer or of the layers
below it, and no two source files use each other, directly or round a longer loop.

    tools/check-layers.py [BUILD_DIR]      (default: build)

Calls are read from the object files with `nm`, so a call through a shared header counts as
what it is: a dependency on the file that defines the function. Exits 1 and lists each breach."""
import os
import re
import subprocess
import sys

LAYERS = ["base", "core", "model", "io", "diag", "cli"]

# Public headers belong to the layer of the files that implement them.
HEADER_LAYER = {
    "status.h": "base", "rng.h": "base", "archive.h": "base",
    "runtime.h": "core", "tensor.h": "core", "gemm.h": "core",
    "flow.h": "model",
    "data.h": "io", "images.h": "io", "plot.h": "io", "npy.h": "io",
    "check.h": "diag", "bench.h": "diag",
}


def layer_of(path):
    """The layer of a file under src/ or include/glowcl/, or None for anything else."""
    parts = path.split("/")
    if parts[0] == "src" and len(parts) > 2 and parts[1] in LAYERS:
        return parts[1]
    if path.startswith("include/glowcl/"):
        return HEADER_LAYER.get(parts[-1])
    return None


def sources(root):
    out = subprocess.run(["git", "-C", root, "ls-files", "src", "include"], check=True,
                         capture_output=True, text=True).stdout.split()
    return [p for p in out if p.endswith((".c", ".h"))]


def include_edges(root, files):
    """(from, to) for each #include "..." between files of the tree."""
    known = set(files)
    edges = set()
    for path in files:
        with open(os.path.join(root, path), encoding="utf-8") as f:
            for line in f:
                m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                if not m:
                    continue
                name = m.group(1)
                for candidate in ("src/" + name, "include/" + name,
                                  os.path.normpath(os.path.join(os.path.dirname(path), name))):
                    if candidate in known:
                        edges.add((path, candidate))
                        break
    return edges


def call_edges(root, build, files):
    """(from, to) for each function or variable one object file uses and another defines."""
    by_object = {}
    for dirpath, _, names in os.walk(build):
        for name in names:
            folder = os.path.basename(dirpath)  # meson's: libglowcl.so.VERSION.p, glowcl.p
            if name.endswith(".c.o") and (folder == "glowcl.p" or
                                          re.fullmatch(r"libglowcl\.so[.0-9]*\.p", folder)):
                by_object[name] = os.path.join(dirpath, name)
    defined, used = {}, {}
    for path in files:
        if not path.endswith(".c"):
            continue
        obj = by_object.get(path.replace("/", "_") + ".o")
        if not obj:
            continue
        nm = subprocess.run(["nm", obj], check=True, capture_output=True, text=True).stdout
        used[path] = set()
        for line in nm.splitlines():
            fields = line.split()
            if len(fields) == 2 and fields[0] == "U":
                used[path].add(fields[1])
            elif len(fields) == 3 and fields[1] in "TDBR":
                defined[fields[2]] = path
    return {(a, defined[s]) for a, syms in used.items() for s in syms
            if s in defined and defined[s] != a}


def cycles(edges):
    """Strongly connected components of more than one file (Tarjan's algorithm)."""
    graph = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def main():
    root = subprocess.run(["git", "rev-parse", "--show-toplevel"], check=True,
                          capture_output=True, text=True).stdout.strip()
    build = os.path.join(root, sys.argv[1] if len(sys.argv) > 1 else "build")
    files = sources(root)
    includes = include_edges(root, files)
    calls = call_edges(root, build, files)
    if not calls:
        sys.exit(f"check-layers: no object files under {build}: build first")
    problems = []
    for kind, edges in (("includes", includes), ("calls into", calls)):
        for a, b in sorted(edges):
            la, lb = layer_of(a), layer_of(b)
            if la and lb and LAYERS.index(lb) > LAYERS.index(la):
                problems.append(f"{a} ({la}) {kind} {b} ({lb}), a layer above it")
    # A header and its own .c file use each other by design; a cycle is between .c files.
    def unit(path):
        return path[:-2] + ".c" if path.endswith(".h") and os.path.exists(
            os.path.join(root, path[:-2] + ".c")) else path
    unit_edges = {(unit(a), unit(b)) for a, b in includes | calls if unit(a) != unit(b)}
    for component in cycles(unit_edges):
        problems.append("cycle: " + " <-> ".join(component))
    print(f"check-layers: {len(files)} files, {len(includes)} includes, "
          f"{len(calls)} cross-file uses, {len(problems)} problems")
    for p in problems:
        print("  " + p)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
