#!/usr/bin/python3
"""Prints scikit-learn's make_moons output as CSV so gc_moons can be cross-checked against it.

Rows are "index,x,y,label" with %.17g (round-trippable doubles); a final "#sum" line holds the
left-to-right sums of x and y and the sum of index*label, which C can reproduce bit for bit.

On CPUs with AVX-512, numpy (1.22+) evaluates float64 sin/cos with its own SIMD code, which is
up to ~3 ulp away from the C library's, so sklearn's last bits depend on the machine.
--libm-math turns that dispatch off so numpy calls the C library like gc_moons does; with it the
two agree bit for bit, without it to within a few 1e-16.
"""
import argparse
import os
import sys


def parse_rows(text, n):
    if text is None:
        return range(n)
    rows = [int(part) for part in text.split(",") if part.strip()]
    for row in rows:
        if not 0 <= row < n:
            sys.exit(f"row {row} is outside 0..{n - 1}")
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("n", type=int, help="n_samples")
    parser.add_argument("noise", type=float, help="standard deviation of the noise (0 allowed)")
    parser.add_argument("random_state", type=int, help="integer seed, 0 .. 2**32-1")
    parser.add_argument("--rows", help="comma-separated row indices to print (default: all)")
    parser.add_argument(
        "--libm-math",
        action="store_true",
        help="make numpy use the C library's sin/cos instead of its AVX-512 versions",
    )
    args = parser.parse_args()

    # numpy reads this once, when it is first imported, hence the late import below.
    if args.libm_math:
        os.environ["NPY_DISABLE_CPU_FEATURES"] = "AVX512_SKX"
    from sklearn.datasets import make_moons

    # noise=0.0 rather than None on purpose: gc_moons always draws the noise, as sklearn does
    # for any non-None value, so the random stream stays aligned for every noise level.
    xy, labels = make_moons(
        n_samples=args.n, shuffle=True, noise=args.noise, random_state=args.random_state
    )
    for row in parse_rows(args.rows, args.n):
        print(f"{row},{xy[row, 0]:.17g},{xy[row, 1]:.17g},{labels[row]}")

    sum_x = 0.0
    sum_y = 0.0
    weighted_labels = 0
    for row in range(args.n):
        sum_x += float(xy[row, 0])
        sum_y += float(xy[row, 1])
        weighted_labels += row * int(labels[row])
    print(f"#sum,{sum_x:.17g},{sum_y:.17g},{weighted_labels}")


if __name__ == "__main__":
    main()
