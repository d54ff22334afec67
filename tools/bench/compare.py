#!/usr/bin/python3
"""Runs `glowcl bench --json` and tools/bench/torch_glow.py one after the other and prints how
glowcl compares with PyTorch against the project's targets.

Options this script does not know (e.g. --only moons, --steps 10) go to both sides; use
--glowcl-args / --torch-args for flags only one side understands. A side that fails or lacks a
number gets "n/a" for every ratio that needs it, so a partial run still prints what it can.

    /usr/bin/python3 tools/bench/compare.py [--glowcl build/glowcl] [--out both.json] [...]

PyTorch on the CPU runs at 1 thread and at all the cores (--torch-threads), and each model
(and each GEMM and convolution shape) is compared with the faster of the two: on a small model
or a busy machine one thread often wins, as OpenMP's barriers cost more than they share.

Against PyTorch on an NVIDIA GPU: --python python3 --torch-args "--device cuda" (what
tools/bench/gpu.sh runs on the device machine).
"""
import argparse
import json
import os
import shlex
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# (label, key, unit, how the ratio is formed, target test, target text). "time" ratios are
# torch / glowcl (a speed-up), "rate" glowcl / torch, "memory" glowcl / torch (smaller is better).
ROWS = [
    ("moons train step", "moons_step_ms", "ms", "time", lambda r: r >= 10.0, ">= 10x"),
    ("image train step", "image_step_ms", "ms", "time", lambda r: r >= 1.5, ">= 1.5x"),
    ("image peak RSS", "image_peak_rss_mib", "MiB", "memory", lambda r: r <= 0.5, "<= 0.5"),
]
GEMM_TARGET = (lambda r: r >= 0.9, ">= 0.9")


def run_side(name, cmd, quiet, timeout):
    """Runs one side; returns its JSON dict ({} if it failed) after echoing its table."""
    print("== %s: %s" % (name, " ".join(shlex.quote(c) for c in cmd)), flush=True)
    try:
        proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, timeout=timeout)
    except FileNotFoundError:
        print("   %s not found: its side is n/a\n" % cmd[0])
        return {}
    except subprocess.TimeoutExpired:
        print("   timed out after %s s: its side is n/a\n" % timeout)
        return {}
    lines = proc.stdout.splitlines()
    table = [line for line in lines if not line.startswith("JSON ")]
    if not quiet and table:
        print("\n".join(table))
    found = [line for line in lines if line.startswith("JSON ")]
    result = {}
    if found:
        try:
            result = json.loads(found[-1][5:])
        except json.JSONDecodeError as err:
            print("   its JSON line does not parse (%s): its side is n/a" % err)
    if proc.returncode != 0:
        print("   exit status %d%s" % (proc.returncode, "" if result else ": its side is n/a"))
    elif not found:
        print("   no `JSON {...}` line: its side is n/a")
    print(flush=True)
    return result


def number(side, key):
    value = side.get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def ratio(kind, glowcl, torch):
    if glowcl is None or torch is None or glowcl <= 0 or torch <= 0:
        return None
    return torch / glowcl if kind == "time" else glowcl / torch


def fmt(value, digits=2):
    return "n/a" if value is None else "%.*f" % (digits, value)


def verdict(r, test):
    return "" if r is None else ("met" if test(r) else "MISSED")


def by_shape(side, key):
    """side[key] (a list of {"m", "n", "k", ...}) as {(m, n, k): entry}; malformed entries are
    skipped."""
    table = {}
    for entry in side.get(key) or []:
        try:
            table[(int(entry["m"]), int(entry["n"]), int(entry["k"]))] = entry
        except (KeyError, TypeError, ValueError):
            continue
    return table


def matched(glowcl, glowcl_key, torch, torch_key, field):
    """[(shape, glowcl value, torch value)] of `field`, shapes matched by (m, n, k), glowcl's
    order first."""
    g, t = by_shape(glowcl, glowcl_key), by_shape(torch, torch_key)
    shapes = list(g) + [s for s in t if s not in g]
    return [(s, g.get(s, {}).get(field), t.get(s, {}).get(field)) for s in shapes]


def conv_table(glowcl, torch, out):
    """glowcl's three convolution passes against F.conv2d's at the same shapes, for information
    (the targets are against torch.mm above)."""
    passes = [("gflops", "forward"), ("input_grad_gflops", "input grad"),
              ("weight_grad_gflops", "weight grad")]
    rows = []
    for field, _ in passes:
        for shape, g, t in matched(glowcl, "gemm", torch, "conv", field):
            g, t = number({"v": g}, "v"), number({"v": t}, "v")
            if g is not None and t is not None:
                rows.append((shape, field, g, t))
    if not rows:
        return
    print("\nconvolution passes, glowcl GFLOP/s / F.conv2d GFLOP/s (info):")
    print("  %-18s %s" % ("M x N x K", "".join("%22s" % name for _, name in passes)))
    for shape in dict.fromkeys(row[0] for row in rows):
        cells = []
        for field, _ in passes:
            found = [row for row in rows if row[0] == shape and row[1] == field]
            if found:
                _, _, g, t = found[0]
                out["conv %d,%d,%d %s" % (shape + (field,))] = g / t
                cells.append("%7.1f /%6.1f = %4.2f" % (g, t, g / t))
            else:
                cells.append("n/a")
        print("  %-18s %s" % ("%dx%dx%d" % shape, "".join("%22s" % c for c in cells)))


def median(values):
    values = sorted(values)
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def merge_rounds(runs):
    """One side's JSON dicts from several rounds as one: each measured number (a float) the
    median of the rounds, the GEMM and convolution entries matched by shape and merged the same
    way; counts (ints, e.g. parameter numbers) and anything else as the first round had them."""
    runs = [run for run in runs if run]
    if len(runs) <= 1:
        return runs[0] if runs else {}
    def merge(first, dicts):
        merged = dict(first)
        for key, value in first.items():
            values = [number(d, key) for d in dicts]
            if isinstance(value, float) and all(v is not None for v in values):
                merged[key] = median(values)
        return merged

    merged = merge(runs[0], runs)
    for key, value in runs[0].items():
        if isinstance(value, list):
            tables = [by_shape(run, key) for run in runs]
            merged[key] = [merge(first, [t.get(shape, {}) for t in tables])
                           for shape, first in tables[0].items()]
    return merged


def default_threads():
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def torch_thread_counts(spec, torch_args):
    """The thread counts to run PyTorch at: --torch-threads ("1,all" by default; "all" is the
    cores this process may use), or none to choose among when --torch-args sets --threads or
    runs on CUDA (None: one run as torch_glow.py is told)."""
    if any(a == "--threads" or a.startswith("--threads=") or "cuda" in a for a in torch_args):
        return [None]
    counts = []
    for item in spec.split(","):
        n = default_threads() if item.strip() == "all" else int(item)
        if n >= 1 and n not in counts:
            counts.append(n)
    return counts or [None]


# Keys of PyTorch's JSON that come with a model's step: from the run whose step was faster.
SECTION_PREFIXES = ("moons_", "image_")


def best_of_threads(by_threads):
    """PyTorch at its best: from {threads: JSON dict}, one dict with each model's step (and
    everything its section measured) from the thread count whose step was faster, each GEMM and
    convolution pass from the count with the most GFLOP/s; "best_threads" says which count won,
    per step key and per "gemm M,N,K field" / "conv M,N,K field"."""
    runs = {n: run for n, run in by_threads.items() if run}
    if len(runs) <= 1:
        return dict(next(iter(runs.values()))) if runs else {}
    counts = sorted(runs)
    best = dict(runs[counts[-1]])
    winners = {}
    for prefix in SECTION_PREFIXES:
        key = prefix + "step_ms"
        timed = [(number(runs[n], key), n) for n in counts if number(runs[n], key) is not None]
        if not timed:
            continue
        winner = min(timed)[1]
        winners[key] = winner
        best.update({k: v for k, v in runs[winner].items() if k.startswith(prefix)})
    for list_key in ("gemm", "conv"):
        tables = {n: by_shape(runs[n], list_key) for n in counts}
        shapes = list(dict.fromkeys(s for n in counts for s in tables[n]))
        merged = []
        for shape in shapes:
            entry = {}
            for n in counts:
                for field, value in tables[n].get(shape, {}).items():
                    better = field.endswith("gflops") and number({"v": value}, "v") is not None \
                        and (number(entry, field) is None or value > entry[field])
                    if field not in entry or better:
                        entry[field] = value
                        if field.endswith("gflops"):
                            winners["%s %d,%d,%d %s" % ((list_key,) + shape + (field,))] = n
            merged.append(entry)
        if merged:
            best[list_key] = merged
    best["threads"] = ",".join(str(n) for n in counts)
    best["best_threads"] = winners
    return best


def thread_key(n):
    """A thread count as a JSON key ("as told": torch_glow.py's own --threads or default)."""
    return "as told" if n is None else str(n)


def threads_text(n):
    return "%d thread%s" % (n, "" if n == 1 else "s")


def thread_report(by_threads, torch):
    """PyTorch's step at each thread count, and which won."""
    winners = torch.get("best_threads") or {}
    for prefix in SECTION_PREFIXES:
        key = prefix + "step_ms"
        cells = ["%s %s ms" % (threads_text(n), fmt(number(run, key)))
                 for n, run in sorted(by_threads.items()) if number(run, key) is not None]
        if len(cells) > 1 and key in winners:
            print("PyTorch %s step: %s; %s won" % (prefix[:-1], ", ".join(cells),
                                                  threads_text(winners[key])))
    gemm = [(k.split(" ")[1], n) for k, n in winners.items() if k.startswith("gemm ")]
    if gemm:
        print("PyTorch GEMM, faster thread count per M,N,K: %s"
              % ", ".join("%s: %d" % (shape, n) for shape, n in gemm))


def peak_bound(glowcl, torch, out):
    """What (b) could be at best: the image step's multiply-adds at the FMA peak glowcl measured
    on its device in the same run, against PyTorch's step (on a CPU, the same cores)."""
    peak, gflop = number(glowcl, "peak_gflops"), number(glowcl, "image_step_gflop")
    g, t = number(glowcl, "image_step_ms"), number(torch, "image_step_ms")
    if peak is None or gflop is None or g is None:
        return
    print("%-28s %12s %12s %9s  %-8s" % ("image step (GFLOP/s)", fmt(gflop / g * 1e3, 1),
                                         fmt(gflop / t * 1e3, 1) if t else "n/a",
                                         "", "(info)"))
    fastest_s = gflop / peak
    line = ("image step at glowcl's device FMA peak, %.1f GFLOP/s: %.1f GFLOP take %.3f s"
            % (peak, gflop, fastest_s))
    if t:
        best = t / 1e3 / fastest_s
        needed = gflop / (t / 1e3 / 1.5) / peak
        out["image_step_best_ratio"] = best
        line += (", i.e. %.2fx PyTorch's step at best; 1.5x needs %.0f%% of the peak over the "
                 "whole step" % (best, 100 * needed))
    print(line)
    shares = {"glowcl": gflop / (g / 1e3) / peak}
    if t:
        shares["torch"] = gflop / (t / 1e3) / peak
    out["image_step_peak_share"] = shares
    print("image step's share of the peak: glowcl %.0f%%%s"
          % (100 * shares["glowcl"],
             ", PyTorch %.0f%%" % (100 * shares["torch"]) if "torch" in shares else ""))
    host = number(glowcl, "host_fma_gflops")
    if host:
        out["peak_host_ratio"] = peak / host
        print("glowcl's device peak against the host's %s loop, %.1f GFLOP/s: %.2f"
              % (glowcl.get("host_fma_method", "FMA"), host, peak / host))


def report(glowcl, torch):
    """Prints the comparison table; returns the ratios as a dict for --out."""
    out = {}
    head = "%-28s %12s %12s %9s  %-8s %s" % ("", "glowcl", "PyTorch", "ratio", "target", "")
    print(head)
    print("-" * len(head))
    for label, key, unit, kind, test, target in ROWS:
        g, t = number(glowcl, key), number(torch, key)
        if g is None and t is None:
            continue  # a section neither side ran (e.g. --only gemm)
        r = ratio(kind, g, t)
        out[key] = r
        won = (torch.get("best_threads") or {}).get(key)
        print("%-28s %12s %12s %9s  %-8s %s%s" % ("%s (%s)" % (label, unit), fmt(g), fmt(t),
                                                 fmt(r), target, verdict(r, test),
                                                 "  (PyTorch at %s)" % threads_text(won)
                                                 if won else ""))
    # glowcl's device buffers against PyTorch's GPU tensors when it ran on CUDA (like for like),
    # else against its whole process: shown, no target.
    g = number(glowcl, "image_device_mib")
    t = number(torch, "image_device_mib")
    if t is None:
        t = number(torch, "image_peak_rss_mib")
    r = ratio("memory", g, t)
    out["image_device_mib"] = r
    if g is not None:
        print("%-28s %12s %12s %9s  %-8s" % ("image device memory (MiB)", fmt(g), fmt(t), fmt(r),
                                             "(info)"))
    # glowcl's "gemm" numbers are its convolution forward passes at these GEMM shapes.
    for (m, n, k), g, t in matched(glowcl, "gemm", torch, "gemm", "gflops"):
        g, t = number({"v": g}, "v"), number({"v": t}, "v")
        r = ratio("rate", g, t)
        out["gemm %d,%d,%d" % (m, n, k)] = r
        won = (torch.get("best_threads") or {}).get("gemm %d,%d,%d gflops" % (m, n, k))
        print("%-28s %12s %12s %9s  %-8s %s%s" % ("GEMM %dx%dx%d (GFLOP/s)" % (m, n, k), fmt(g, 1),
                                                 fmt(t, 1), fmt(r), GEMM_TARGET[1],
                                                 verdict(r, GEMM_TARGET[0]),
                                                 "  (%d)" % won if won else ""))
    peak_bound(glowcl, torch, out)
    conv_table(glowcl, torch, out)
    for key in ("moons_params", "image_params"):
        g, t = glowcl.get(key), torch.get(key)
        if g is not None or t is not None:
            same = "" if g is None or t is None else ("same" if g == t else "DIFFER")
            print("%-28s %12s %12s %9s" % (key.replace("_", " "), g if g is not None else "n/a",
                                           t if t is not None else "n/a", same))
    # Start-up costs glowcl reports apart from the medians (kernel compilation, first steps).
    for key in ("compile_s", "moons_first_step_s", "image_first_step_s"):
        if number(glowcl, key) is not None:
            print("%-28s %12s" % ("glowcl " + key.replace("_", " "), fmt(number(glowcl, key))))
    print("\nratios: step times torch/glowcl (speed-up), GEMM glowcl/torch GFLOP/s, memory "
          "glowcl/torch peak.")
    if "device" in glowcl:
        print("glowcl on %s." % glowcl["device"])
    if str(torch.get("device", "")).startswith("cuda"):
        print("PyTorch %s on %s, TF32 %s; image device memory is its peak GPU tensor memory."
              % (torch.get("torch_version", "?"), torch["device"],
                 "on" if torch.get("tf32") else "off"))
    elif "best_threads" in torch:
        print("PyTorch %s on the CPU at %s threads, each model and shape at its faster count "
              "(in brackets)." % (torch.get("torch_version", "?"), torch["threads"]))
    elif "threads" in torch:
        print("PyTorch %s on the CPU, %s threads." % (torch.get("torch_version", "?"),
                                                   torch["threads"]))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--glowcl", default=os.path.join(ROOT, "build", "glowcl"),
                   help="the glowcl binary (default: build/glowcl of this checkout)")
    p.add_argument("--python", default="/usr/bin/python3",
                   help="the Python with torch for torch_glow.py (default: /usr/bin/python3)")
    p.add_argument("--glowcl-args", default="", help="extra flags for glowcl bench only")
    p.add_argument("--torch-args", default="", help="extra flags for torch_glow.py only")
    p.add_argument("--skip-glowcl", action="store_true", help="run only the PyTorch side")
    p.add_argument("--skip-torch", action="store_true", help="run only glowcl's side")
    p.add_argument("--timeout", type=float, default=1800, help="seconds per side (default 1800)")
    p.add_argument("--quiet", action="store_true", help="do not echo the two sides' tables")
    p.add_argument("--out", help="write both sides' JSON and the ratios to this file")
    p.add_argument("--torch-threads", default="1,all",
                   help="thread counts to run PyTorch at, each model compared with the faster "
                        "(default 1,all: one thread and all the cores this process may use); "
                        "ignored when --torch-args sets --threads or --device cuda")
    p.add_argument("--rounds", type=int, default=1,
                   help="run the two sides alternately this many times and compare the medians "
                        "of their numbers (default 1): on a shared machine both sides then meet "
                        "the same spells of load")
    args, passed = p.parse_known_args()

    glowcl_cmd = [args.glowcl, "bench", "--json"] + passed + shlex.split(args.glowcl_args)
    torch_args = passed + shlex.split(args.torch_args)
    torch_cmd = [args.python, os.path.join(HERE, "torch_glow.py")] + torch_args
    counts = torch_thread_counts(args.torch_threads, torch_args)
    def torch_at(n):
        return torch_cmd + ([] if n is None else ["--threads", str(n)])

    # One after the other, never together: each side gets the whole machine.
    glowcl_runs, torch_runs = [], []  # torch_runs: per round, {threads: JSON dict}
    for round_index in range(max(1, args.rounds)):
        if args.rounds > 1:
            print("== round %d of %d" % (round_index + 1, args.rounds))
        glowcl_runs.append({} if args.skip_glowcl else
                           run_side("glowcl", glowcl_cmd, args.quiet, args.timeout))
        torch_runs.append({n: {} if args.skip_torch else
                           run_side("PyTorch", torch_at(n), args.quiet, args.timeout)
                           for n in counts})
    if args.rounds > 1:
        bests = [best_of_threads(runs) for runs in torch_runs]
        for label, key, _, kind, _, _ in ROWS:
            each = [ratio(kind, number(g, key), number(t, key))
                    for g, t in zip(glowcl_runs, bests)]
            if any(r is not None for r in each):
                print("%s ratio in each round: %s" % (label, ", ".join(fmt(r) for r in each)))
        print("medians of the %d rounds:\n" % args.rounds)
    glowcl = merge_rounds(glowcl_runs)
    torch_by_threads = {n: merge_rounds([runs[n] for runs in torch_runs]) for n in counts}
    torch = best_of_threads(torch_by_threads)
    if len(counts) > 1:
        thread_report(torch_by_threads, torch)
        print()
    ratios = report(glowcl, torch)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"glowcl": glowcl, "torch": torch, "ratios": ratios,
                       "torch_by_threads": {thread_key(n): run
                                            for n, run in torch_by_threads.items()},
                       "rounds": {"glowcl": glowcl_runs,
                                  "torch": [{thread_key(n): run for n, run in runs.items()}
                                            for runs in torch_runs]},
                       "glowcl_command": glowcl_cmd,
                       "torch_commands": [torch_at(n) for n in counts]}, f, indent=2)
            f.write("\n")
        print("wrote %s" % args.out)
    return 0 if glowcl or torch else 1


if __name__ == "__main__":
    sys.exit(main())
