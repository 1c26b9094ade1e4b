"""Two of MXNet's fast paths, measured on their own: host synchronisation and layout.

``sync``: a training step that reads its loss and accuracy back to Python after every
batch (``asscalar()``, as d2l's ``train_epoch_ch3`` does through its ``Accumulator``)
against one that keeps the sums on the device and reads them once per epoch (what
``gluon_resnet.train`` does). Reading a value waits for the batch to finish, so Python
cannot queue the next batch's operators while this one computes.

``layout``: a 3x3 convolution + BatchNorm + ReLU at ResNet-18's first-stage shape, in
MXNet's default NCHW layout and in NHWC (``Conv2D(layout='NHWC')``, ``BatchNorm(axis=3)``).

Writes ``benchmarks/results/fast_paths.md`` (or ``--out``)::

    OMP_NUM_THREADS=2 python benchmarks/fast_paths.py
    python benchmarks/fast_paths.py --quick --out /tmp/fp   # tiny shapes (the tests)
"""
import argparse
import datetime
import os
import platform
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import gluon_resnet  # noqa: E402,F401  (before mxnet)
import mxnet as mx  # noqa: E402
from mxnet import autograd, gluon  # noqa: E402

from throughput_workers import _median_time  # noqa: E402  (benchmarks/, this script's folder)

SYNC_BATCHES = (32, 256)
LAYOUT_SHAPE = (256, 64, 28, 28)  # ResNet-18's first stage on 28x28 thumbnails


def _train_steps(batch, size, read_every_batch):
    """A function running ``n`` SGD steps of a thumbnail ResNet-18; the loss and the
    number of correct predictions are summed on the device, or read after every batch."""
    net = gluon_resnet.get_model("resnet18_v1b", classes=10, thumbnail=True, in_channels=1)
    x = mx.nd.random.uniform(shape=(batch, 1, size, size))
    y = mx.nd.array([i % 10 for i in range(batch)])
    loss_fn = gluon.loss.SoftmaxCrossEntropyLoss()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": 0.01,
                                                           "momentum": 0.9})

    def steps(n):
        loss_sum, correct = mx.nd.zeros(1), mx.nd.zeros(1)
        py_loss, py_correct = 0.0, 0.0
        for _ in range(n):
            with autograd.record():
                out = net(x)
                loss = loss_fn(out, y)
            loss.backward()
            trainer.step(batch)
            hits = (out.argmax(axis=1) == y).sum()
            if read_every_batch:  # d2l: metric.add(float(l.sum()), accuracy(y_hat, y), ...)
                py_loss += loss.sum().asscalar()
                py_correct += hits.asscalar()
            else:
                loss_sum += loss.sum()
                correct += hits
        if not read_every_batch:
            py_loss, py_correct = loss_sum.asscalar(), correct.asscalar()
        mx.nd.waitall()
        return py_loss, py_correct
    return steps


def _rounds(fns, seconds, rounds):
    """Images/s of each ``(name, batch, fn)``: warm up, size ``n`` for ~``seconds`` per
    round, then alternate the functions round by round; median and range."""
    sizes = {}
    for name, batch, fn in fns:
        fn(2)
        start = time.perf_counter()
        fn(2)
        sizes[name] = max(2, int(seconds / ((time.perf_counter() - start) / 2)))
    samples = {name: [] for name, _, _ in fns}
    for r in range(rounds):
        order = fns if r % 2 == 0 else fns[::-1]
        for name, batch, fn in order:
            start = time.perf_counter()
            fn(sizes[name])
            samples[name].append(batch * sizes[name] / (time.perf_counter() - start))
    return {name: dict(median=statistics.median(s), min=min(s), max=max(s), n=sizes[name])
            for name, s in samples.items()}


def measure_sync(batches, size, seconds, rounds):
    out = {}
    for batch in batches:
        fns = [("read every batch", batch, _train_steps(batch, size, True)),
               ("sums on the device", batch, _train_steps(batch, size, False))]
        out[batch] = _rounds(fns, seconds, rounds)
    return out


def measure_layout(shape, reps):
    from mxnet.gluon import nn
    n, c, h, w = shape
    out = {}
    for layout, xshape in (("NCHW", (n, c, h, w)), ("NHWC", (n, h, w, c))):
        block = nn.HybridSequential()
        block.add(nn.Conv2D(c, 3, 1, 1, use_bias=False, layout=layout, in_channels=c),
                  nn.BatchNorm(axis=1 if layout == "NCHW" else 3, in_channels=c),
                  nn.Activation("relu"))
        block.initialize()
        block.hybridize(static_alloc=True, static_shape=True)
        x = mx.nd.random.normal(shape=xshape)
        x.attach_grad()
        res = {}
        for mode in ("infer", "train"):
            def run():
                if mode == "infer":
                    block(x).wait_to_read()
                else:
                    with autograd.record():
                        y = block(x)
                    y.backward()
                    x.grad.wait_to_read()
            try:
                res[mode] = dict(ms=1000 * _median_time(run, reps))
            except mx.base.MXNetError as err:
                res[mode] = dict(error=str(err).strip().splitlines()[0][:200])
        out[layout] = res
    return out


def markdown(doc):
    L = ["# Fast paths measured on their own", "",
         "Measured %s by `benchmarks/fast_paths.py` on `%s`, %d cores, MXNet %s, "
         "`OMP_NUM_THREADS=%s`; load average %s at the start, %s at the end." % (
             doc["date"], doc["cpu"], doc["cpus"], mx.__version__, doc["omp"],
             doc["load_start"], doc["load_end"]), "",
         "```\n%s\n```" % doc["command"], ""]
    L += ["## Reading the loss and accuracy after every batch", "",
          "ResNet-18 v1b with the thumbnail stem, 1x%dx%d inputs held in memory, SGD with "
          "momentum; images/s, median over %d rounds that alternate the two loops "
          "(min-max after it)." % (doc["size"], doc["size"], doc["rounds"]), "",
          "| batch | read every batch (`asscalar()`, d2l) | sums on the device "
          "(gluon_resnet.train) | gain |",
          "|---:|---:|---:|---:|"]
    for batch, res in doc["sync"].items():
        a, b = res["read every batch"], res["sums on the device"]
        L.append("| %s | %.1f (%.1f-%.1f) | %.1f (%.1f-%.1f) | %+.1f%% |" % (
            batch, a["median"], a["min"], a["max"], b["median"], b["min"], b["max"],
            100 * (b["median"] / a["median"] - 1)))
    L += ["", "## Layout: NCHW and NHWC", "",
          "3x3 convolution (no bias) + BatchNorm + ReLU, %d channels, batch %d, %dx%d maps, "
          "hybridized with `static_alloc` and `static_shape`; milliseconds per call, "
          "median of %d (train: forward and backward)." % (
              doc["layout_shape"][1], doc["layout_shape"][0], doc["layout_shape"][2],
              doc["layout_shape"][3], doc["reps"]), "",
          "| layout | inference | training |", "|---|---:|---:|"]
    for layout, res in doc["layout"].items():
        cells = ["%.1f ms" % r["ms"] if "ms" in r else "fails: `%s`" % r["error"]
                 for r in (res["infer"], res["train"])]
        L.append("| %s | %s | %s |" % (layout, cells[0], cells[1]))
    L.append("")
    if doc.get("notes"):
        L += [doc["notes"], ""]
    return "\n".join(L)


NOTES_BEGIN = "<!-- notes: kept when the script rewrites this file -->"
NOTES_END = "<!-- end of notes -->"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny shapes, 1 round")
    parser.add_argument("--out", default=None, help="directory for fast_paths.md "
                        "(default benchmarks/results)")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of one round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    out_dir = args.out or os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    os.makedirs(out_dir, exist_ok=True)
    size, batches, shape, reps = 28, SYNC_BATCHES, LAYOUT_SHAPE, 7
    rounds, seconds = args.rounds, args.seconds
    if args.quick:
        size, batches, shape, reps, rounds, seconds = 8, (2,), (2, 8, 8, 8), 1, 1, 0.05
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), cpu)
    except OSError:
        pass
    doc = dict(date=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               command="python benchmarks/fast_paths.py " + " ".join(
                   argv if argv is not None else sys.argv[1:]),
               cpu=cpu, cpus=os.cpu_count(), omp=os.environ.get("OMP_NUM_THREADS", "unset"),
               load_start="%.2f" % os.getloadavg()[0], size=size, rounds=rounds,
               layout_shape=shape, reps=reps)
    doc["sync"] = measure_sync(batches, size, seconds, rounds)
    doc["layout"] = measure_layout(shape, reps)
    doc["load_end"] = "%.2f" % os.getloadavg()[0]
    path = os.path.join(out_dir, "fast_paths.md")
    if os.path.exists(path):
        old = open(path).read()
        if NOTES_BEGIN in old and NOTES_END in old:
            doc["notes"] = old[old.index(NOTES_BEGIN):old.index(NOTES_END) + len(NOTES_END)]
    text = markdown(doc)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
