#!/usr/bin/env python3
"""Writes a small data set in the CIFAR-10 binary format for tests and quick training runs.

Each record is 1 label byte and 3072 pixel bytes: the red, green and blue 32x32 planes one after
the other, each row by row from the top, exactly as in the real data_batch_N.bin files. The
pictures are smooth: a gradient whose direction and tint depend on the label plus a soft blob of
the label's colour at a per-image position, so a flow has real structure to learn (far below the
8 bits/dim of noise). The same arguments always give the same files.

Usage: make_tiny_cifar.py OUT_DIR [TRAIN [TEST]] [--seed S]
Training images are spread over data_batch_1.bin ... data_batch_5.bin (the first batches get
one more when TRAIN is not a multiple of 5; batches that would be empty are not written, since a
0-byte batch is not a valid file); TEST images go to test_batch.bin.
"""
import argparse
import math
import os
import random
import sys

SIDE = 32
CLASSES = 10
TRAIN_BATCHES = 5

# One clearly different colour per label, so the label is visible in the picture.
CLASS_COLOURS = [
    (230, 60, 50), (245, 150, 40), (235, 220, 60), (90, 200, 70), (40, 170, 160),
    (50, 110, 230), (130, 70, 210), (220, 80, 170), (140, 100, 60), (200, 200, 200),
]


def image_record(label, rng):
    """The 3073 bytes of one image of class `label`, drawing its variation from rng."""
    angle = 2.0 * math.pi * label / CLASSES
    direction_x, direction_y = math.cos(angle), math.sin(angle)
    colour = CLASS_COLOURS[label]
    # The background is a dim, desaturated version of the class colour; the variations keep
    # images of one class from being identical without hiding what they share.
    brightness = rng.uniform(0.35, 0.65)
    blob_x, blob_y = rng.uniform(8.0, 24.0), rng.uniform(8.0, 24.0)
    blob_radius = rng.uniform(4.0, 7.0)
    planes = [bytearray(SIDE * SIDE) for _ in range(3)]
    for y in range(SIDE):
        for x in range(SIDE):
            # Gradient along the label's direction, from -1 to 1 across the picture.
            ramp = ((x - 15.5) * direction_x + (y - 15.5) * direction_y) / 22.0
            background = brightness * (0.5 + 0.5 * ramp)
            distance2 = (x - blob_x) ** 2 + (y - blob_y) ** 2
            blob = math.exp(-distance2 / (2.0 * blob_radius * blob_radius))
            for c in range(3):
                base = 255.0 * background * (0.5 + 0.5 * colour[c] / 255.0)
                value = (1.0 - blob) * base + blob * colour[c]
                planes[c][y * SIDE + x] = max(0, min(255, int(round(value))))
    return bytes([label]) + bytes(planes[0]) + bytes(planes[1]) + bytes(planes[2])


def write_batch(path, first_index, count, rng):
    # Labels cycle through the classes so every batch of 10 or more is balanced.
    with open(path, "wb") as out:
        for i in range(first_index, first_index + count):
            out.write(image_record(i % CLASSES, rng))


def non_negative(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def main():
    parser = argparse.ArgumentParser(
        description="Write small CIFAR-10-format files (data_batch_1..5.bin, test_batch.bin).")
    parser.add_argument("out_dir", help="folder to write into (created if missing)")
    parser.add_argument("train", nargs="?", type=non_negative, default=100,
                        help="training images over the five batches (default 100)")
    parser.add_argument("test", nargs="?", type=non_negative, default=20,
                        help="test images (default 20)")
    parser.add_argument("--seed", type=int, default=1, help="variation seed (default 1)")
    args = parser.parse_args()
    if args.train + args.test == 0:
        parser.error("nothing to write: TRAIN and TEST are both 0")

    os.makedirs(args.out_dir, exist_ok=True)
    # Separate streams, so changing TEST does not change the training images.
    train_rng = random.Random(f"train-{args.seed}")
    test_rng = random.Random(f"test-{args.seed}")
    written = []
    first = 0
    for batch in range(TRAIN_BATCHES):
        count = args.train // TRAIN_BATCHES + (1 if batch < args.train % TRAIN_BATCHES else 0)
        path = os.path.join(args.out_dir, f"data_batch_{batch + 1}.bin")
        if count == 0:
            # A stale batch from an earlier, larger run would otherwise be read as well.
            if os.path.exists(path):
                os.remove(path)
            continue
        write_batch(path, first, count, train_rng)
        written.append(f"{os.path.basename(path)} ({count})")
        first += count
    test_path = os.path.join(args.out_dir, "test_batch.bin")
    if args.test > 0:
        write_batch(test_path, 0, args.test, test_rng)
        written.append(f"test_batch.bin ({args.test})")
    elif os.path.exists(test_path):
        os.remove(test_path)
    print(f"wrote {', '.join(written)} in {args.out_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
