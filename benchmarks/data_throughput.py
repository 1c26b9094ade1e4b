"""Throughput of the Fashion-MNIST training iterator (images/s), printed as markdown.

Measures ``load_data_fashion_mnist``'s training iterator at batch size 256, at 28x28 and
96x96, with and without augmentation (pad-4 random crop + horizontal flip). Every batch
is waited on (``wait_to_read``) before the next is requested, so no work is left
pending in MXNet's engine when the clock stops and no overlap with training is
credited. Reading and decoding the files is timed separately.

Usage::

    OMP_NUM_THREADS=2 python benchmarks/data_throughput.py [--quick] [--root DIR]
"""
import argparse
import os
import platform
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import gluon_resnet  # noqa: E402,F401  (must come before mxnet)
from gluon_resnet.data import load_data_fashion_mnist, read_fashion_mnist  # noqa: E402
import mxnet as mx  # noqa: E402

CONFIGS = [(28, False), (28, True), (96, False), (96, True)]


def measure(batch_size, resize, augment, root, max_batches, warmup=2):
    """Return (images, seconds) for one pass of up to ``max_batches`` batches."""
    train_iter, _ = load_data_fashion_mnist(
        batch_size, resize=None if resize == 28 else resize, root=root, augment=augment,
        seed=0, num_test=10)
    for i, (X, y) in enumerate(train_iter):  # warm-up: allocations, op caches
        X.wait_to_read()
        if i + 1 >= warmup:
            break
    images, start = 0, time.perf_counter()
    for i, (X, y) in enumerate(train_iter):
        X.wait_to_read()
        y.wait_to_read()
        images += X.shape[0]
        if i + 1 >= max_batches:
            break
    return images, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 batches per configuration")
    parser.add_argument("--root", default=None, help="Fashion-MNIST directory")
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args(argv)
    max_batches = 10 if args.quick else 10 ** 9  # default: one full epoch

    start = time.perf_counter()
    read_fashion_mnist(args.root, train=True)
    read_s = time.perf_counter() - start

    print("MXNet %s, Python %s, OMP_NUM_THREADS=%s, %d CPUs visible"
          % (mx.__version__, platform.python_version(), os.environ.get("OMP_NUM_THREADS"),
             os.cpu_count()))
    print("read + verify + decode train split (60,000 images): %.3f s\n" % read_s)
    print("| batch | size | augment | batches | images | seconds | images/s |")
    print("|---:|---:|:---:|---:|---:|---:|---:|")
    for resize, augment in CONFIGS:
        images, seconds = measure(args.batch_size, resize, augment, args.root, max_batches)
        print("| %d | %dx%d | %s | %d | %d | %.2f | %.0f |"
              % (args.batch_size, resize, resize, "yes" if augment else "no",
                 -(-images // args.batch_size), images, seconds, images / seconds))
        sys.stdout.flush()


if __name__ == "__main__":
    main()
