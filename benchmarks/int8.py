"""int8 (oneDNN) against fp32: Fashion-MNIST test accuracy and CPU inference speed.

For a trained run (``gluon-resnet train ... --out RUN``), exports the net as int8 with
:func:`gluon_resnet.deploy.export_checkpoint` (calibrated on ``--calib-images`` training
images, once per calibration mode), reloads the files, and compares against fp32:

- accuracy on the 10,000 test images, prepared as in training;
- latency of one forward pass at batch sizes 1 and 64 (``bf16 export`` and ``bf16 optimized``,
  the bf16 export and ``optimize_for_inference(..., "bf16")``, with ``--speed-shapes``), for
  ``fp32``: the Gluon net hybridized with ``static_alloc``/``static_shape``;
  ``fp32 oneDNN``: the net after ``optimize_for(x, backend='MKLDNN', static_alloc=True)``,
  MXNet's fp32 fusion pass (convolution + BN + ReLU + add), the honest fp32 baseline;
  ``int8 <mode>``: the int8 export reloaded by ``load_predictor`` (a SymbolBlock,
  hybridized with ``static_alloc``; ``static_shape`` breaks quantized graphs in MXNet 1.9);
  ``onnx fp32`` and ``onnx-int8 <mode>``: the ``onnx`` and ``onnx-int8`` exports run by
  ONNX Runtime through ``load_predictor`` (numpy in and out; left out without onnx).

Timing: after warm-up, the variants are timed in interleaved rounds (each round runs
every variant ``--calls`` times back to back; the output is waited on each time), so a
change in machine load affects all of them alike. Reported: the median over rounds of
the per-call time. Prints markdown.

With ``--speed-shapes`` (e.g. ``1x96x96,3x224x224``) it also times the same variants for
a freshly initialised ``--speed-model`` at other input shapes, exported with
:func:`gluon_resnet.deploy.export_net` (int8 calibrated naively on 64 random images):
speed does not depend on what the weights learned, and at 32x32 per-operator overhead
hides what int8 arithmetic gains.

Usage::

    OMP_NUM_THREADS=2 python benchmarks/int8.py --run RUN [--calib-images 512] \
        [--speed-shapes 1x96x96,3x224x224]
    OMP_NUM_THREADS=2 python benchmarks/int8.py --speed-shapes 3x224x224   # speed only
"""
import argparse
import datetime
import os
import platform
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import gluon_resnet  # noqa: E402,F401  (must come before mxnet)
from gluon_resnet.data import load_data_fashion_mnist  # noqa: E402
from gluon_resnet.deploy import export_checkpoint, export_net, load_predictor  # noqa: E402
from gluon_resnet.deploy.inference import optimize_for_inference  # noqa: E402
from gluon_resnet.training import evaluate_accuracy, load_checkpoint  # noqa: E402
import mxnet as mx  # noqa: E402
import numpy as np  # noqa: E402


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


def print_speed(variants, shape, batches, rounds, round_seconds=0.5):
    """Markdown tables of per-batch latency; each variant runs about ``round_seconds``
    per round (calls per round chosen from the fp32 net's warm-up)."""
    for batch in batches:
        x = mx.nd.array(np.random.RandomState(0).normal(size=(batch,) + shape))
        fp32 = variants["fp32"]
        fp32(x).wait_to_read()
        start = time.perf_counter()
        fp32(x).wait_to_read()
        calls = max(1, min(50, int(round_seconds / (time.perf_counter() - start))))
        med = latencies(variants, x, rounds, calls)
        print("\n%s, batch %d: median over %d rounds of %d calls; load average now %.2f %.2f %.2f"
              % (("x".join(map(str, shape)), batch, rounds, calls) + os.getloadavg()))
        print("| model | ms per batch | images/s | speed-up vs fp32 | vs fp32 oneDNN |")
        print("|---|---:|---:|---:|---:|")
        for name, seconds in med.items():
            print("| %s | %.2f | %.0f | %.2fx | %.2fx |"
                  % (name, 1e3 * seconds, batch / seconds, med["fp32"] / seconds,
                     med["fp32 oneDNN"] / seconds))
        sys.stdout.flush()


class _Exported:
    """A numpy predictor timed and evaluated like a block: the NDArray input is converted
    once (as a server would receive numpy), the logits come back as an NDArray."""

    def __init__(self, predictor):
        self.predictor, self._x, self._batch = predictor, None, None

    def __call__(self, x):
        if x is not self._x:
            self._x, self._batch = x, x.asnumpy()
        return mx.nd.array(self.predictor(self._batch))


def accuracy(block, test_iter):
    """Test accuracy of a Gluon block (``evaluate_accuracy``) or an exported predictor."""
    if not isinstance(block, _Exported):
        return evaluate_accuracy(block, test_iter, mx.cpu())
    correct = total = 0
    for X, y in test_iter:
        correct += int((block.predictor(X.asnumpy()).argmax(1) == y.asnumpy()).sum())
        total += len(y)
    return correct / total


def _have_onnx():
    import importlib.util
    return all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime", "ml_dtypes"))


def fp32_variants(make_net, shape):
    """``fp32`` (hybridized, static shapes) and ``fp32 oneDNN`` (MXNet's fusion pass)."""
    net = make_net()
    net.hybridize(static_alloc=True, static_shape=True)
    fused = make_net()
    # static_shape=True as well makes MXNet 1.9 return oneDNN-layout outputs that
    # asnumpy() rejects from the second call on; static_alloc alone works.
    fused.optimize_for(mx.nd.zeros((1,) + shape), backend="MKLDNN", static_alloc=True)
    return {"fp32": net, "fp32 oneDNN": fused}


def speed_at(model, shape, batches, rounds, tmp):
    """Time fp32, fused fp32, int8 and (with onnx installed) the onnx and onnx-int8
    exports for a freshly initialised ``model`` at ``shape``."""
    def make_net():
        mx.random.seed(0)
        return gluon_resnet.get_model(model, classes=10, in_channels=shape[0],
                                      hybridize=False)
    variants = fp32_variants(make_net, shape)
    calib = np.random.RandomState(1).normal(size=(64,) + shape).astype(np.float32)
    prefix = os.path.join(tmp, "%s-%s" % (model, "x".join(map(str, shape))))
    start = time.perf_counter()
    paths = export_net(make_net(), prefix, shape, format="int8", calib_data=calib)
    print("\n%s at %s: int8 export (naive calibration, 64 random images) %.1f s"
          % (model, "x".join(map(str, shape)), time.perf_counter() - start))
    variants["int8 naive"] = load_predictor(paths[-1])._run.block
    # bfloat16: the bf16 export as load_predictor runs it, and optimize_for_inference's
    # bf16 graph (static shapes, unfused: fast where oneDNN may use AMX; gluon-resnet info).
    paths = export_net(make_net(), prefix + "-bf16", shape, format="bf16")
    variants["bf16 export"] = load_predictor(paths[-1])._run.block
    variants["bf16 optimized"] = optimize_for_inference(
        make_net(), (max(batches),) + shape, "bf16")
    if _have_onnx():
        for fmt, name in (("onnx", "onnx fp32"), ("onnx-int8", "onnx-int8 naive")):
            paths = export_net(make_net(), prefix + "-" + fmt, shape, format=fmt,
                               calib_data=calib if fmt == "onnx-int8" else None)
            variants[name] = _Exported(load_predictor(paths[-1]))
    print_speed(variants, shape, batches, rounds)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--run", help="run directory of a trained net (accuracy and speed)")
    parser.add_argument("--speed-shapes", default="",
                        help="comma-separated CxHxW: also time --speed-model at these shapes")
    parser.add_argument("--speed-model", default="resnet18")
    parser.add_argument("--batches", default="1,64", help="batch sizes to time")
    parser.add_argument("--calib-images", type=int, default=512)
    parser.add_argument("--calib-modes", default="naive,entropy",
                        help="comma-separated: naive, entropy (default both)")
    parser.add_argument("--data-dir", default=None, help="Fashion-MNIST directory")
    parser.add_argument("--rounds", type=int, default=7, help="timing rounds (default 7)")
    args = parser.parse_args(argv)

    report = gluon_resnet.cpu_report()
    print("date %s; CPU %s, %d CPUs visible; OMP_NUM_THREADS=%s; MXNet %s, Python %s"
          % (datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
             report["model"], os.cpu_count(), os.environ.get("OMP_NUM_THREADS"),
             mx.__version__, platform.python_version()))
    print("CPU flags: %s; oneDNN AMX %s (%s)" % (" ".join(report["flags"]),
                                                "on" if report["amx"] else "off",
                                                report["amx_reason"]))
    print("load average at start: %.2f %.2f %.2f" % os.getloadavg())
    if not args.run and not args.speed_shapes:
        parser.error("give --run, --speed-shapes, or both")
    batches = [int(b) for b in args.batches.split(",")]
    tmp = tempfile.TemporaryDirectory()
    if args.run:
        trained(args, batches, tmp.name)
    for text in filter(None, args.speed_shapes.split(",")):
        shape = tuple(int(d) for d in text.split("x"))
        speed_at(args.speed_model, shape, batches, args.rounds, tmp.name)
    print("\nload average at end: %.2f %.2f %.2f" % os.getloadavg())
    tmp.cleanup()


def trained(args, batches, tmp):
    """Accuracy and speed of the trained net of ``args.run``, fp32 against int8."""
    net, doc = load_checkpoint(args.run)
    meta = doc["metadata"]
    print("run: %s (%s, epoch %d, input %s, resize %s)\n"
          % (doc["path"], doc["model"]["name"], doc["epoch"],
             "x".join(map(str, doc["model"]["input_shape"])), meta.get("resize")))
    _, test_iter = load_data_fashion_mnist(250, resize=meta.get("resize"), root=args.data_dir,
                                           num_train=1, mean=meta.get("mean"),
                                           std=meta.get("std"))
    shape = tuple(doc["model"]["input_shape"])
    variants = fp32_variants(lambda: load_checkpoint(args.run)[0], shape)
    export_s = {}
    for mode in args.calib_modes.split(","):
        start = time.perf_counter()
        paths = export_checkpoint(args.run, os.path.join(tmp, mode), format="int8",
                                  calib_images=args.calib_images, data_dir=args.data_dir,
                                  calib_mode=mode)
        export_s[mode] = time.perf_counter() - start
        variants["int8 " + mode] = load_predictor(paths[-1])._run.block
    if _have_onnx():
        paths = export_checkpoint(args.run, os.path.join(tmp, "onnx"), format="onnx")
        variants["onnx fp32"] = _Exported(load_predictor(paths[-1]))
        for mode in args.calib_modes.split(","):
            start = time.perf_counter()
            paths = export_checkpoint(args.run, os.path.join(tmp, "onnx-int8-" + mode),
                                      format="onnx-int8", calib_images=args.calib_images,
                                      data_dir=args.data_dir, calib_mode=mode)
            export_s["onnx-int8 " + mode] = time.perf_counter() - start
            variants["onnx-int8 " + mode] = _Exported(load_predictor(paths[-1]))

    print("| model | test accuracy | vs fp32 (points) | export s |")
    print("|---|---:|---:|---:|")
    acc = {}
    for name, block in variants.items():
        acc[name] = value = accuracy(block, test_iter)
        key = name if name in export_s else name.split()[-1]
        print("| %s | %.4f | %+.2f | %s |" % (name, value, 100 * (value - acc["fp32"]),
                                              "%.1f" % export_s[key] if key in export_s
                                              else ""))
        sys.stdout.flush()
    print_speed(variants, shape, batches, args.rounds)


if __name__ == "__main__":
    main()
