"""Soak: many short epochs in one process; resident memory must stay flat.

Trains a small net for ``--epochs`` short epochs in one process with everything the
``gluon-resnet train`` command attaches (a checkpoint every epoch, the history and curves
files, d2l's printed lines) and records the process's resident memory (VmRSS) after
every epoch. A leak (arrays kept per batch or per epoch, a growing history of graphs, an
unclosed file or figure) shows as a rising line.

The check: after the first ``--settle`` epochs (allocator pools and oneDNN's kernel
caches fill during them), every epoch's RSS is within 10% of the settled value. The
exit status is 0 when it holds, 1 when not. ``--leak-mib N`` plants a leak of N MiB per
epoch (written arrays kept in a list), to show that the check catches one.

Outputs in ``--out`` (default ``benchmarks/results``): ``soak.md`` (the table of RSS
by epoch, the verdict, the command, the machine and its CPU flags), ``soak.json`` and
``soak.png``.

Usage::

    OMP_NUM_THREADS=2 python benchmarks/soak.py --epochs 50
    python benchmarks/soak.py --quick                 # 4 tiny epochs, settled after 2
    python benchmarks/soak.py --quick --leak-mib 200  # must say NOT flat, exit 1
"""
import argparse
import io
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gluon_resnet  # noqa: E402  (must come before mxnet)
from _machine import machine_info, machine_lines  # noqa: E402
import numpy as np  # noqa: E402
from gluon_resnet.training.callbacks import PrintLines, SaveCurves, SaveHistory  # noqa: E402
from gluon_resnet.data import load_data_fashion_mnist  # noqa: E402
from gluon_resnet.params import write_json  # noqa: E402
from gluon_resnet.training import train  # noqa: E402

TOLERANCE = 0.10


def rss_mib():
    """Resident set size of this process, in MiB (Linux /proc)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise RuntimeError("no VmRSS in /proc/self/status")


class PlantedLeak:
    """Keeps ``mib`` MiB of written memory per epoch: a known leak, to show that the
    check catches one (``--leak-mib``)."""

    def __init__(self, mib):
        self.mib, self.kept = mib, []

    def on_epoch_end(self, state):
        self.kept.append(np.ones(self.mib << 20, dtype=np.uint8))  # written: resident


class RecordMemory:
    def __init__(self):
        self.points = []

    def on_epoch_end(self, state):
        self.points.append({"epoch": len(state.history), "rss_mib": round(rss_mib(), 1),
                            "seconds": round(time.time() - self.start, 1)})

    def on_train_begin(self, state):
        self.start = time.time()
        self.before = rss_mib()


def verdict(points, settle):
    """(settled RSS, largest relative deviation after it, within tolerance?)."""
    if len(points) <= settle:
        return None, None, None
    base = points[settle - 1]["rss_mib"]
    worst = max(abs(p["rss_mib"] - base) / base for p in points[settle:])
    return base, worst, worst <= TOLERANCE


def markdown(doc):
    base, worst, ok = doc["settled_rss_mib"], doc["max_deviation"], doc["flat"]
    lines = ["# Soak: resident memory over %d epochs in one process" % doc["epochs"], "",
             "Command: `%s`" % doc["command"], ""] + machine_lines(doc["machine"]) + [
        "- Model %s, %d training and %d test images per epoch, batch %d, with a checkpoint, "
        "history.json, curves.png and d2l's lines every epoch (what `gluon-resnet train` "
        "does)" % (doc["model"], doc["num_train"], doc["num_test"], doc["batch_size"]), "",
        "RSS before training: %.1f MiB. Settled after epoch %d: %.1f MiB. Largest deviation "
        "after that: %.1f%% (tolerance %d%%): **%s**."
        % (doc["rss_before_mib"], doc["settle"], base, 100 * worst, 100 * TOLERANCE,
           "flat" if ok else "NOT flat"), "",
        "| epoch | RSS (MiB) | seconds |", "|---:|---:|---:|"]
    lines += ["| %d | %.1f | %.1f |" % (p["epoch"], p["rss_mib"], p["seconds"])
              for p in doc["points"]]
    lines += ["", "![RSS by epoch](soak.png)", ""]
    return "\n".join(lines)


def plot(doc, path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6, 3.5))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    xs = [p["epoch"] for p in doc["points"]]
    ax.plot(xs, [p["rss_mib"] for p in doc["points"]], ".-", label="RSS")
    base = doc["settled_rss_mib"]
    if base:
        for k in (1 - TOLERANCE, 1 + TOLERANCE):
            ax.axhline(base * k, color="gray", ls=":")
    ax.set_xlabel("epoch")
    ax.set_ylabel("resident memory (MiB)")
    ax.set_ylim(0, max(p["rss_mib"] for p in doc["points"]) * 1.2)
    ax.grid(True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--settle", type=int, default=5)
    parser.add_argument("--model", default="cifar_resnet20")
    parser.add_argument("--num-train", type=int, default=1024)
    parser.add_argument("--num-test", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--out", default=None)
    parser.add_argument("--quick", action="store_true", help="4 tiny epochs, to a temp dir")
    parser.add_argument("--leak-mib", type=int, default=0,
                        help="plant a leak of this many MiB per epoch (the check must fail)")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.settle, args.num_train, args.num_test = 4, 2, 64, 32
    out = args.out or (tempfile.mkdtemp() if args.quick else
                       os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
    os.makedirs(out, exist_ok=True)
    doc = {"command": "python benchmarks/soak.py " + " ".join(
        sys.argv[1:] if argv is None else argv), "machine": machine_info(),
        "epochs": args.epochs, "settle": args.settle, "model": args.model,
        "num_train": args.num_train, "num_test": args.num_test, "batch_size": args.batch_size,
        "leak_mib": args.leak_mib}
    train_iter, test_iter = load_data_fashion_mnist(
        args.batch_size, num_train=args.num_train, num_test=args.num_test, augment=True, seed=0)
    net = gluon_resnet.get_model(args.model, classes=10)
    memory = RecordMemory()
    with tempfile.TemporaryDirectory() as run:
        leak = [PlantedLeak(args.leak_mib)] if args.leak_mib else []
        callbacks = leak + [memory, PrintLines(io.StringIO()),
                            SaveCurves(os.path.join(run, "curves.png")),
                            SaveHistory(os.path.join(run, "history.json"))]
        train(net, train_iter, test_iter, args.epochs, 0.002, optimizer="adam",
              checkpoint_dir=run, callbacks=callbacks, seed=0)
    doc["rss_before_mib"] = round(memory.before, 1)
    doc["points"] = memory.points
    doc["settled_rss_mib"], doc["max_deviation"], doc["flat"] = verdict(memory.points,
                                                                        args.settle)
    write_json(os.path.join(out, "soak.json"), doc)
    with open(os.path.join(out, "soak.md"), "w") as f:
        f.write(markdown(doc))
    plot(doc, os.path.join(out, "soak.png"))
    print("settled %.1f MiB, largest deviation %.1f%%: %s; results in %s"
          % (doc["settled_rss_mib"], 100 * doc["max_deviation"],
             "flat" if doc["flat"] else "NOT flat", out))
    return 0 if doc["flat"] else 1


if __name__ == "__main__":
    sys.exit(main())
