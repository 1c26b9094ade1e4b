"""int8 (oneDNN) against fp32: Fashion-MNIST test accuracy and CPU inference speed.

For a trained run (``gluon-resnet train ... --out RUN``), exports the net as int8 with
:func:`gluon_resnet.deploy.export_checkpoint` (calibrated on ``--calib-images`` training
images, once per calibration mode), reloads the files, and compares against fp32:

- accuracy on the 10,000 test images, prepared as in training;
- latency of one forward pass at batch sizes 1 and 64, for
  ``fp32``: the Gluon net hybridized with ``static_alloc``/``static_shape``;
  ``fp32 oneDNN``: the net after ``optimize_for(x, backend='MKLDNN', static_alloc=True)``,
  MXNet's fp32 fusion pass (convolution + BN + ReLU + add), the honest fp32 baseline;
  ``int8 <mode>``: the int8 export reloaded by ``load_predictor`` (a SymbolBlock,
  hybridized with ``static_alloc``; ``static_shape`` breaks quantized graphs in MXNet 1.9).

Timing: after warm-up, the variants are timed in interleaved rounds (each round runs
every variant ``--calls`` times back to back; the output is waited on each time), so a
change in machine load affects all of them alike. Reported: the median over rounds of
the per-call time. Prints markdown.

Usage::

    OMP_NUM_THREADS=2 python benchmarks/int8.py --run RUN [--calib-images 512]
"""
import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import gluon_resnet  # noqa: E402,F401  (must come before mxnet)
from gluon_resnet.data import load_data_fashion_mnist  # noqa: E402
from gluon_resnet.deploy import export_checkpoint, load_predictor  # noqa: E402
from gluon_resnet.train import load_checkpoint  # noqa: E402
import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return next(line.split(":", 1)[1].strip() for line in out.splitlines()
                    if line.startswith("Model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown"


def accuracy(block, test_iter):
    correct = total = 0
    with mx.autograd.predict_mode():
        for X, y in test_iter:
            pred = block(X).asnumpy().argmax(axis=1)
            correct += int((pred == y.asnumpy()).sum())
            total += y.shape[0]
    return correct / total


def latencies(variants, x, rounds, calls, warmup=3):
    """{name: median seconds per call} over interleaved rounds."""
    for block in variants.values():
        for _ in range(warmup):
            block(x).wait_to_read()
    times = {name: [] for name in variants}
    for _ in range(rounds):
        for name, block in variants.items():
            start = time.perf_counter()
            for _ in range(calls):
                block(x).wait_to_read()
            times[name].append((time.perf_counter() - start) / calls)
    return {name: statistics.median(t) for name, t in times.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", required=True, help="run directory of a trained net")
    parser.add_argument("--calib-images", type=int, default=512)
    parser.add_argument("--calib-modes", default="naive,entropy",
                        help="comma-separated: naive, entropy (default both)")
    parser.add_argument("--data-dir", default=None, help="Fashion-MNIST directory")
    parser.add_argument("--rounds", type=int, default=7, help="timing rounds (default 7)")
    args = parser.parse_args(argv)

    print("date %s; CPU %s, %d CPUs visible; OMP_NUM_THREADS=%s; MXNet %s, Python %s"
          % (datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
             cpu_model(), os.cpu_count(), os.environ.get("OMP_NUM_THREADS"), mx.__version__,
             platform.python_version()))
    print("load average at start: %.2f %.2f %.2f" % os.getloadavg())
    net, doc = load_checkpoint(args.run)
    meta = doc["metadata"]
    print("run: %s (%s, epoch %d, input %s, resize %s)\n"
          % (doc["path"], doc["model"]["name"], doc["epoch"],
             "x".join(map(str, doc["model"]["input_shape"])), meta.get("resize")))
    _, test_iter = load_data_fashion_mnist(250, resize=meta.get("resize"), root=args.data_dir,
                                           num_train=1, mean=meta.get("mean"),
                                           std=meta.get("std"))
    shape = tuple(doc["model"]["input_shape"])

    variants = {}
    net.hybridize(static_alloc=True, static_shape=True)
    variants["fp32"] = net
    fused, _ = load_checkpoint(args.run)
    # static_shape=True as well makes MXNet 1.9 return oneDNN-layout outputs that
    # asnumpy() rejects from the second call on; static_alloc alone works.
    fused.optimize_for(mx.nd.zeros((1,) + shape), backend="MKLDNN", static_alloc=True)
    variants["fp32 oneDNN"] = fused
    tmp = tempfile.TemporaryDirectory()
    export_s = {}
    for mode in args.calib_modes.split(","):
        start = time.perf_counter()
        paths = export_checkpoint(args.run, os.path.join(tmp.name, mode), format="int8",
                                  calib_images=args.calib_images, data_dir=args.data_dir,
                                  calib_mode=mode)
        export_s[mode] = time.perf_counter() - start
        variants["int8 " + mode] = load_predictor(paths[-1])._run.block

    print("| model | test accuracy | vs fp32 (points) | export s |")
    print("|---|---:|---:|---:|")
    acc = {}
    for name, block in variants.items():
        acc[name] = value = accuracy(block, test_iter)
        mode = name.split()[-1]
        print("| %s | %.4f | %+.2f | %s |" % (name, value, 100 * (value - acc["fp32"]),
                                              "%.1f" % export_s[mode] if mode in export_s
                                              else ""))
        sys.stdout.flush()

    for batch, calls in ((1, 20), (64, 2)):
        x = mx.nd.array(np.random.RandomState(0).normal(size=(batch,) + shape))
        med = latencies(variants, x, args.rounds, calls)
        print("\nbatch %d: median over %d rounds of %d calls; load average now %.2f %.2f %.2f"
              % ((batch, args.rounds, calls) + os.getloadavg()))
        print("| model | ms per batch | images/s | speed-up vs fp32 | vs fp32 oneDNN |")
        print("|---|---:|---:|---:|---:|")
        for name, seconds in med.items():
            print("| %s | %.2f | %.0f | %.2fx | %.2fx |"
                  % (name, 1e3 * seconds, batch / seconds, med["fp32"] / seconds,
                     med["fp32 oneDNN"] / seconds))
        sys.stdout.flush()
    print("\nload average at end: %.2f %.2f %.2f" % os.getloadavg())
    tmp.cleanup()


if __name__ == "__main__":
    main()
