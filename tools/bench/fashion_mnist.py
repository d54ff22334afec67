#!/usr/bin/python3
"""Fashion-MNIST against PyTorch: the same image Glow trained by glowcl and by torch_glow.py.

Issue 17's acceptance item "Real data against PyTorch": on Fashion-MNIST (padded to 32, 1
channel) one small model trained by `glowcl train images` and by `tools/bench/torch_glow.py
--train-idx` with the same architecture, optimiser, schedule and settings, for 2 seeds each;
test bits/dim at each evaluation (every --every steps and at the last) with each side's wall time.

Settings (the defaults below; each has a flag):
    model      L=2 levels x K=8 steps, coupling networks of 128 hidden channels, affine couplings,
               learned split prior, N(0, I) top prior (glowcl's defaults besides L, K, hidden)
    training   batch 32, Adam lr 1e-3 after a linear warm-up of 500 steps, 8-bit dequantisation
    data       /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist), 1 x 28 x 28
               zero-padded to 1 x 32 x 32 (centred), bits/dim over the padded image
    evaluation the first --test-n t10k images (10000: the full test set)
    seeds      1 and 2 on each side; with the same seed both sides draw the same batches and
               dequantisation noise (torch_glow.py runs glowcl's generator), but their initial
               weights differ (see torch_glow.py's notes above train_idx)

Runs go one after the other, never two at once, alternating sides (glowcl seed 1, PyTorch seed 1,
glowcl seed 2, PyTorch seed 2) so that a spell of load on a shared machine falls on both. Each
test line's wall time is taken here, when the line arrives, from the start of that process
(data loading, kernel compilation and the evaluations included, alike on both sides).

Verdict per step count: met when mean(glowcl) - mean(PyTorch) <= spread, the seed-to-seed
spread being the larger of the two sides' (max - min over seeds) at that step count; i.e.
"glowcl no worse than PyTorch by more than the seed-to-seed spread".

Writes OUT/table.md (the Markdown table and verdicts, also printed), OUT/results.json, each run's
stdout/stderr (OUT/glowcl-seedN.log, OUT/torch-seedN.log) and glowcl's checkpoint, curve.png and
sample grids (OUT/glowcl-seedN/samples-*.png). The exit status is 0 when every run finished,
whatever the verdicts (a benchmark, not a test).

Full run (see tools/bench/README.md):  nice -n 19 /usr/bin/python3 tools/bench/fashion_mnist.py
Smoke run:  /usr/bin/python3 tools/bench/fashion_mnist.py --steps 40 --every 20 --test-n 200 \
                --levels 2 --depth 2 --hidden 16 --warmup 10 --out /tmp/fm-smoke
"""
import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

DEFAULTS = {
    "data": "/usr/share/datasets/fashion-mnist",
    "pad": 32,
    "levels": 2,
    "depth": 8,
    "hidden": 128,
    "batch": 32,
    "lr": 1e-3,
    "warmup": 500,
    "steps": 4000,
    "every": 1000,
    "test_n": 10000,
    "seeds": "1,2",
}

TEST_LINE = re.compile(r"^step (\d+): test bits/dim ([0-9.eE+-]+|nan|inf) ± ([0-9.eE+-]+|nan|inf)")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog=__doc__.split("\n\n", 1)[1])
    p.add_argument("--data", default=DEFAULTS["data"], help="IDX folder (%(default)s)")
    p.add_argument("--pad", type=int, default=DEFAULTS["pad"])
    p.add_argument("--levels", type=int, default=DEFAULTS["levels"])
    p.add_argument("--depth", type=int, default=DEFAULTS["depth"])
    p.add_argument("--hidden", type=int, default=DEFAULTS["hidden"])
    p.add_argument("--batch", type=int, default=DEFAULTS["batch"])
    p.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    p.add_argument("--warmup", type=int, default=DEFAULTS["warmup"])
    p.add_argument("--steps", type=int, default=DEFAULTS["steps"],
                   help="training steps of every run (%(default)s)")
    p.add_argument("--minutes", type=float, default=0.0,
                   help="instead of --steps: glowcl's first run trains for this many minutes "
                        "(glowcl --minutes); the steps it reached, rounded down to a multiple of "
                        "--every, become --steps for the other runs")
    p.add_argument("--every", type=int, default=DEFAULTS["every"],
                   help="test bits/dim every N steps (%(default)s)")
    p.add_argument("--test-n", type=int, default=DEFAULTS["test_n"],
                   help="test images (%(default)s: the full t10k set)")
    p.add_argument("--seeds", default=DEFAULTS["seeds"], help="comma-separated (%(default)s)")
    p.add_argument("--sides", default="glowcl,torch", help="glowcl,torch or one of them")
    p.add_argument("--glowcl", default=os.path.join(ROOT, "build", "glowcl"))
    p.add_argument("--glowcl-args", default="", help="extra flags for glowcl (e.g. '-t cpu')")
    p.add_argument("--torch-args", default="", help="extra flags for torch_glow.py")
    p.add_argument("--torch-threads", default="best",
                   help="torch_glow.py --threads: a count, 'all' (every core this process may "
                        "use) or 'best' (default: PyTorch at its best, as compare.py gives it: "
                        "20 training steps at 1 thread and at all, the faster count is used)")
    p.add_argument("--no-cross-check", action="store_true",
                   help="skip scoring each glowcl run's final model in PyTorch "
                        "(torch_glow.py --eval-glowcl)")
    p.add_argument("--out", default="runs/fashion-mnist", help="logs, table, grids (%(default)s)")
    p.add_argument("--table-from", nargs="+", metavar="RESULTS_JSON",
                   help="train nothing: the table of the runs in these results.json files (of "
                        "earlier invocations with the same settings; a (side, seed) in a later "
                        "file replaces an earlier one's, e.g. a rerun of one seed)")
    args = p.parse_args(argv)
    args.seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    args.sides = [s.strip() for s in args.sides.split(",") if s.strip()]
    if not args.seeds or any(s not in ("glowcl", "torch") for s in args.sides):
        p.error("--seeds needs at least one seed; --sides is glowcl, torch or both")
    if min(args.steps, args.every, args.batch) < 1 or args.minutes < 0:
        p.error("--steps, --every and --batch must be >= 1, --minutes >= 0")
    return args


def common_flags(args, steps):
    return ["--pad", str(args.pad), "--levels", str(args.levels), "--depth", str(args.depth),
            "--hidden", str(args.hidden), "--batch", str(args.batch), "--lr", repr(args.lr),
            "--warmup", str(args.warmup), "--steps", str(steps), "--every", str(args.every),
            "--test-n", str(args.test_n)]


def command(args, side, seed, steps, minutes=0.0):
    if side == "glowcl":
        cmd = [args.glowcl, "train", "images", "--data", "idx:" + args.data]
        cmd += common_flags(args, steps) + ["--seed", str(seed), "--out",
                                            os.path.join(args.out, "glowcl-seed%d" % seed)]
        if minutes > 0:
            cmd += ["--minutes", repr(minutes)]
        return cmd + shlex.split(args.glowcl_args)
    cmd = [sys.executable, os.path.join(HERE, "torch_glow.py"), "--train-idx", args.data]
    cmd += common_flags(args, steps) + ["--seed", str(seed)]
    if args.torch_threads not in ("all", "best"):
        cmd += ["--threads", str(args.torch_threads)]
    return cmd + shlex.split(args.torch_args)


def run(cmd, log_path):
    """Runs cmd, its stdout and stderr into log_path; returns ({step: (bpd, se, wall s)}, rc,
    total wall s), each test line timed when it arrives."""
    print("$ " + " ".join(shlex.quote(c) for c in cmd), flush=True)
    evals = {}
    start = time.perf_counter()
    with open(log_path, "w") as log:
        log.write("$ " + " ".join(shlex.quote(c) for c in cmd) + "\n")
        log.flush()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, text=True, bufsize=1)
        for line in proc.stdout:
            wall = time.perf_counter() - start
            log.write(line)
            log.flush()
            m = TEST_LINE.match(line)
            if m:
                step = int(m.group(1))
                evals[step] = (float(m.group(2)), float(m.group(3)), wall)
                print("  step %d: %.4f ± %.4f bits/dim at %.1f s" % (step, evals[step][0],
                                                                      evals[step][1], wall),
                      flush=True)
        rc = proc.wait()
    total = time.perf_counter() - start
    if rc != 0:
        print("fashion_mnist.py: exit status %d; see %s" % (rc, log_path), file=sys.stderr)
    return evals, rc, total


def all_cores():
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def pick_torch_threads(args):
    """'best': times 20 training steps of the model at 1 thread and at every core (each
    torch_glow.py's own training seconds, evaluation left out) and keeps the faster count; on a
    machine shared with other jobs one thread often wins, OpenMP's barriers waiting on busy
    cores. Returns the count as a string."""
    if args.torch_threads != "best":
        return args.torch_threads
    counts = sorted({1, all_cores()})
    if len(counts) == 1:
        return "1"
    timing = {}
    for threads in counts:
        cmd = [sys.executable, os.path.join(HERE, "torch_glow.py"), "--train-idx", args.data]
        cmd += common_flags(args, 20)[:-4] + ["--every", "20", "--test-n", "1", "--threads",
                                              str(threads)]
        out = subprocess.run(cmd + shlex.split(args.torch_args), stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True).stdout
        found = [line for line in out.splitlines() if line.startswith("JSON ")]
        timing[threads] = (json.loads(found[-1][5:])["evals"][-1]["train_s"] if found
                           else float("inf"))
        print("PyTorch, 20 steps at %d thread%s: %.1f s" % (threads, "" if threads == 1 else "s",
                                                           timing[threads]), flush=True)
    best = min(counts, key=lambda t: timing[t])
    print("PyTorch runs at %d thread%s" % (best, "" if best == 1 else "s"), flush=True)
    return str(best)


def cross_check(args, seed, last_test):
    """glowcl's final checkpoint of this seed scored by torch_glow.py --eval-glowcl: the same
    parameters, test images and noise, so the two bits/dim must agree (to float32 rounding);
    returns a Markdown line. last_test: (step, (bpd, se, wall)) of the run's last test, the
    checkpoint's (with --minutes, past the steps the table compares)."""
    model = os.path.join(args.out, "glowcl-seed%d" % seed, "model.glowcl")
    if not last_test or not os.path.exists(model):
        return "- glowcl seed %d: no checkpoint to cross-check" % seed
    step = last_test[0]
    glowcl_evals = {step: last_test[1]}
    cmd = [sys.executable, os.path.join(HERE, "torch_glow.py"), "--train-idx", args.data]
    cmd += common_flags(args, 1) + ["--eval-glowcl", model]
    if args.torch_threads not in ("all", "best"):
        cmd += ["--threads", str(args.torch_threads)]
    evals, rc, _ = run(cmd, os.path.join(args.out, "cross-check-seed%d.log" % seed))
    if rc != 0 or step not in evals:
        return "- glowcl seed %d: the cross-check failed (see cross-check-seed%d.log)" % (seed, seed)
    ours, theirs = evals[step][0], glowcl_evals[step][0]
    return ("- glowcl seed %d's model after step %d scored by PyTorch: %.4f bits/dim, by glowcl "
            "%.4f: %s" % (seed, step, ours, theirs,
                          "agree" if abs(ours - theirs) <= 2e-4 else "**DIFFER**"))


def fmt(v, digits=4):
    return "n/a" if v is None else "%.*f" % (digits, v)


def seconds(v):
    return "%.1f" % v if v < 100 else "%.0f" % v


def spread(values):
    return max(values) - min(values) if len(values) > 1 else 0.0


def table(args, results, steps_run):
    """Markdown lines: settings, the table, a verdict per step count."""
    seeds = args.seeds
    all_steps = sorted({s for r in results.values() for s in r["evals"]})
    head = ["step"]
    for side, name in (("glowcl", "glowcl"), ("torch", "PyTorch")):
        if side in args.sides:
            head += ["%s seed %d" % (name, s) for s in seeds]
            head += ["%s mean" % name, "%s spread" % name]
    head += ["%s wall s" % name for side, name in (("glowcl", "glowcl"), ("torch", "PyTorch"))
             if side in args.sides]
    lines = [
        "Fashion-MNIST, 1 x 28 x 28 padded to %d x %d; Glow L=%d, K=%d, hidden %d, batch %d, "
        "Adam lr %g with %d warm-up steps, %d steps; test bits/dim (padded image, 8-bit) on %d "
        "t10k images; seeds %s on each side." % (args.pad, args.pad, args.levels, args.depth,
                                                args.hidden, args.batch, args.lr, args.warmup,
                                                steps_run, args.test_n,
                                                ", ".join(map(str, seeds))),
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    verdicts = []
    for step in all_steps:
        row = [str(step)]
        means, spreads = {}, {}
        walls = {}
        for side in ("glowcl", "torch"):
            if side not in args.sides:
                continue
            vals = [results[(side, s)]["evals"].get(step) for s in seeds]
            row += [fmt(v[0]) if v else "n/a" for v in vals]
            got = [v[0] for v in vals if v]
            complete = len(got) == len(seeds)
            means[side] = statistics.mean(got) if complete else None
            spreads[side] = spread(got) if complete else None
            row += [fmt(means[side]), fmt(spreads[side])]
            ws = [v[2] for v in vals if v]
            walls[side] = (seconds(statistics.mean(ws)) + (" (%s)" % ", ".join(map(seconds, ws))
                                                           if len(ws) > 1 else "")) if ws else "n/a"
        row += [walls[side] for side in ("glowcl", "torch") if side in args.sides]
        lines.append("| " + " | ".join(row) + " |")
        if len(args.sides) == 2:
            if means["glowcl"] is None or means["torch"] is None:
                verdicts.append("- step %d: n/a (a run has no test at this step)" % step)
            else:
                gap = means["glowcl"] - means["torch"]
                allowed = max(spreads["glowcl"], spreads["torch"])
                verdicts.append(
                    "- step %d: glowcl %.4f vs PyTorch %.4f bits/dim (glowcl %+.4f), seed-to-seed "
                    "spread %.4f: glowcl no worse than PyTorch by more than the seed-to-seed "
                    "spread: **%s**" % (step, means["glowcl"], means["torch"], gap, allowed,
                                         "met" if gap <= allowed else "missed"))
    if "glowcl" in args.sides:
        last = [max(r["evals"].items())[1][2] for (side, _), r in results.items()
                if side == "glowcl" and r["evals"]]
        if last:
            lines.append("")
            lines.append("glowcl's longest run reached its last test after %.1f minutes (issue 17 "
                         "asks for at least 20 minutes of glowcl training: %s)."
                         % (max(last) / 60.0, "yes" if max(last) >= 1200 else "no"))
    if "torch" in args.sides:
        lines.append("")
        threads = args.torch_threads
        lines.append("PyTorch at %s (--torch-threads); glowcl on its default device%s."
                     % ("every core" if threads == "all" else
                        "%s thread%s" % (threads, "" if threads == "1" else "s"),
                        (" with " + args.glowcl_args) if args.glowcl_args else ""))
    lines += ["", "Wall s: seconds from the process's start to that test's line (mean over "
              "seeds, each seed in brackets), data loading, compilation and earlier tests "
              "included. Spread: max - min over seeds.", ""]
    return lines + verdicts


def table_from(args):
    """The table of runs recorded in results.json files; the settings of the first."""
    results, steps = {}, None
    for path in args.table_from:
        with open(path) as f:
            recorded = json.load(f)
        if steps is None:
            for key in ("pad", "levels", "depth", "hidden", "batch", "lr", "warmup", "test_n",
                        "torch_threads"):
                setattr(args, key, recorded["settings"][key])
            steps = recorded["steps"]
        for r in recorded["runs"]:
            results[(r["side"], r["seed"])] = {
                "rc": r["rc"], "wall_s": r["wall_s"],
                "evals": {e["step"]: (e["bpd"], e["se"], e["wall_s"]) for e in r["evals"]}}
    args.seeds = sorted({seed for _, seed in results})
    args.sides = [side for side in ("glowcl", "torch") if any(k[0] == side for k in results)]
    missing = [(side, seed) for side in args.sides for seed in args.seeds
               if (side, seed) not in results]
    for side, seed in missing:
        results[(side, seed)] = {"rc": None, "wall_s": None, "evals": {}}
    print("\n".join(table(args, results, steps)))
    return 0


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.table_from:
        return table_from(args)
    os.makedirs(args.out, exist_ok=True)
    steps = args.steps
    results, order = {}, []
    for seed in args.seeds:
        order += [(side, seed) for side in ("glowcl", "torch") if side in args.sides]
    failed = False
    if "torch" in args.sides:
        args.torch_threads = pick_torch_threads(args)
    for i, (side, seed) in enumerate(order):
        minutes = args.minutes if (i == 0 and side == "glowcl" and args.minutes > 0) else 0.0
        run_steps = 10 ** 9 if minutes else steps
        evals, rc, total = run(command(args, side, seed, run_steps, minutes),
                               os.path.join(args.out, "%s-seed%d.log" % (side, seed)))
        last_test = (max(evals), evals[max(evals)]) if evals else None  # the checkpoint's
        if minutes:
            reached = max(evals) if evals else 0
            steps = reached // args.every * args.every or reached
            evals = {s: v for s, v in evals.items() if s <= steps}
            print("glowcl reached step %d in %g minutes: the other runs train %d steps"
                  % (reached, minutes, steps), flush=True)
            if not steps:
                print("fashion_mnist.py: glowcl's timed run reached no test", file=sys.stderr)
                return 1
        results[(side, seed)] = {"evals": evals, "rc": rc, "wall_s": total, "last": last_test}
        failed |= rc != 0
        last_wall = evals[max(evals)][2] if evals else 0.0  # the last test's, by step
        if side == "glowcl" and i == 0 and evals and last_wall < 1200:
            print("fashion_mnist.py: warning: glowcl's run reached its last test (step %d) after "
                  "%.1f minutes, short of issue 17's 20 minutes; for the full comparison stop "
                  "here (Ctrl-C) and rerun with more --steps (about %d)"
                  % (max(evals), last_wall / 60.0, int(max(evals) * 1260 / max(last_wall, 1e-9))),
                  file=sys.stderr, flush=True)
    lines = table(args, results, steps)
    if "glowcl" in args.sides and not args.no_cross_check:
        checks = [cross_check(args, seed, results[("glowcl", seed)]["last"])
                  for seed in args.seeds]
        lines += ["", "Cross-check (torch_glow.py --eval-glowcl: glowcl's last checkpoint, its "
                      "parameters copied into the PyTorch model, the same test images and "
                      "noise):", ""] + checks
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    with open(os.path.join(args.out, "table.md"), "w") as f:
        f.write(text)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump({"settings": {k: v for k, v in vars(args).items()}, "steps": steps,
                   "runs": [{"side": side, "seed": seed, "rc": r["rc"], "wall_s": r["wall_s"],
                             "evals": [{"step": s, "bpd": v[0], "se": v[1], "wall_s": v[2]}
                                       for s, v in sorted(r["evals"].items())]}
                            for (side, seed), r in results.items()]}, f, indent=1)
    print("wrote %s and %s" % (os.path.join(args.out, "table.md"),
                               os.path.join(args.out, "results.json")))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
