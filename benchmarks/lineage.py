"""The lineage side by side: every d2l form trained on Fashion-MNIST the d2l way.

Each of ``d2l_lenet``, ``d2l_alexnet``, ``d2l_vgg11``, ``d2l_nin``, ``d2l_googlenet``,
``d2l_resnet18`` and ``d2l_densenet`` is trained as its d2l chapter trains it
(``d2l.train_ch6``: Xavier initialisation, plain SGD without momentum or weight decay,
the chapter's learning rate, epochs, batch size and resize), with ``gluon_resnet.train``
and a checkpoint per model, so the run resumes model by model and epoch by epoch (run
the same command again). Recorded per model: parameters, multiply-adds per image (at the
chapter's input size), training images per second and seconds per epoch (medians over
the epochs, so one disturbed epoch does not move them), test accuracy, and accuracy per
GFLOP.

``--num-train`` / ``--epochs`` shorten the schedule where the chapters' does not fit the
machine (the results file must then say so); ``--full-schedule`` names models that keep
the chapter's whole schedule all the same (cheap ones, such as LeNet, whose sigmoid
layers need many steps before they learn at all). Outputs in ``--out`` (default
``benchmarks/results``): ``lineage.json``, ``lineage.png`` (test accuracy against
multiply-adds, one point per model) and the table between the markers of ``lineage.md``
(created if missing).

Usage::

    OMP_NUM_THREADS=2 python benchmarks/lineage.py --runs runs/lineage
    python benchmarks/lineage.py --quick --out /tmp/q --runs /tmp/q/runs
"""
import argparse
import os
import re
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gluon_resnet  # noqa: E402,F401  (before mxnet)
import mxnet as mx  # noqa: E402

from _machine import machine_info, machine_lines  # noqa: E402
from gluon_resnet import summary  # noqa: E402
from gluon_resnet.training.callbacks import PrintLines, ProgressBar  # noqa: E402
from gluon_resnet.data import load_data_fashion_mnist  # noqa: E402
from gluon_resnet.models.lineage import SPECS  # noqa: E402
from gluon_resnet.params import atomic_path, write_json  # noqa: E402
from gluon_resnet.models.registry import get_model  # noqa: E402
from gluon_resnet.training import train  # noqa: E402

# The chapters' settings (d2l 0.17.6, MXNet): learning rate, epochs, batch size, resize.
CHAPTERS = {
    "d2l_lenet": dict(lr=0.9, epochs=10, batch_size=256, resize=None),
    "d2l_alexnet": dict(lr=0.01, epochs=10, batch_size=128, resize=224),
    "d2l_vgg11": dict(lr=0.05, epochs=10, batch_size=128, resize=224),
    "d2l_nin": dict(lr=0.1, epochs=10, batch_size=128, resize=224),
    "d2l_googlenet": dict(lr=0.1, epochs=10, batch_size=128, resize=96),
    "d2l_resnet18": dict(lr=0.05, epochs=10, batch_size=256, resize=96),
    "d2l_densenet": dict(lr=0.1, epochs=10, batch_size=256, resize=96),
}
FASHION_MNIST_TRAIN = 60000
BEGIN, END = "<!-- measured: begin -->", "<!-- measured: end -->"


def _names(text):
    return [m.strip() for m in text.split(",") if m.strip()]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default=",".join(CHAPTERS))
    p.add_argument("--epochs", type=int, default=None,
                   help="epochs per model instead of the chapter's (10)")
    p.add_argument("--num-train", type=int, default=None,
                   help="a class-stratified subset of the 60,000 training images")
    p.add_argument("--num-test", type=int, default=None)
    p.add_argument("--full-schedule", default="",
                   help="models (comma-separated) trained on all 60,000 images for the "
                   "chapter's epochs whatever --num-train and --epochs say")
    p.add_argument("--runs", default=os.path.join("runs", "lineage"))
    p.add_argument("--data-dir", default=None)
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    p.add_argument("--quick", action="store_true",
                   help="a tiny configuration that checks the script runs")
    args = p.parse_args(argv)
    args.models, args.full_schedule = _names(args.models), _names(args.full_schedule)
    unknown = [m for m in args.models + args.full_schedule if m not in CHAPTERS]
    if unknown:
        p.error("--models: %s not among %s" % (", ".join(unknown), ", ".join(CHAPTERS)))
    if args.quick:
        args.models = ["d2l_lenet", "d2l_resnet18"]
        args.epochs, args.num_train, args.num_test = 1, 64, 32
        args.full_schedule = []
    return args


def run_model(args, name):
    chapter = CHAPTERS[name]
    full = name in args.full_schedule
    epochs = chapter["epochs"] if full else args.epochs or chapter["epochs"]
    num_train = None if full else args.num_train
    resize = chapter["resize"]
    if args.quick and resize:
        resize = SPECS[name].min_size if SPECS[name].min_size > 1 else 32
    train_iter, test_iter = load_data_fashion_mnist(
        chapter["batch_size"], resize=resize, root=args.data_dir, seed=0,
        num_train=num_train, num_test=args.num_test)
    mx.random.seed(0)
    net = get_model(name)
    # d2l's train_ch6: Xavier initialisation, SGD without momentum.
    net.initialize(mx.init.Xavier(), force_reinit=True)
    size = resize or 28
    s = summary(net, (1, 1, size, size))
    print("%s:" % name, file=sys.stderr)
    history = train(net, train_iter, test_iter, epochs, chapter["lr"], optimizer="sgd",
                    momentum=0.0, seed=0, checkpoint_dir=os.path.join(args.runs, name),
                    resume=True, callbacks=[ProgressBar(file=sys.stderr),
                                            PrintLines(file=sys.stderr)])
    acc = history.test_acc[-1]
    gflops = s.total_macs / 1e9
    return {"params": s.total_params, "macs": s.total_macs, "input": [1, size, size],
            "num_train": num_train or FASHION_MNIST_TRAIN,
            "epochs": epochs, "lr": chapter["lr"], "batch_size": chapter["batch_size"],
            "test_acc": acc, "train_acc": history.train_acc[-1],
            "epoch_seconds": statistics.median(history.epoch_time),
            "train_images_per_second": statistics.median(history.throughput),
            "acc_per_gflop": acc / gflops if gflops else None,
            "history": history.to_dict()}


def table(results):
    lines = ["| model | input | params | multiply-adds | train images | epochs | lr | batch | "
             "train img/s | s/epoch | test acc | acc per GFLOP |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for name, r in results.items():
        lines.append("| %s | %s | %.2f M | %.1f M | %s | %d | %g | %d | %.0f | %.0f | %.3f | %s |"
                     % (name, "x".join(map(str, r["input"])), r["params"] / 1e6,
                        r["macs"] / 1e6, "{:,}".format(r["num_train"]), r["epochs"], r["lr"],
                        r["batch_size"], r["train_images_per_second"], r["epoch_seconds"],
                        r["test_acc"],
                        "%.2f" % r["acc_per_gflop"] if r["acc_per_gflop"] else "-"))
    return "\n".join(lines)


def plot(results, path):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(6, 4))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for name, r in results.items():
        ax.scatter(r["macs"] / 1e9, r["test_acc"])
        ax.annotate(name.replace("d2l_", ""), (r["macs"] / 1e9, r["test_acc"]),
                    textcoords="offset points", xytext=(4, 4), fontsize="small")
    ax.set_xscale("log")
    ax.set_xlabel("multiply-adds per image (G, log scale)")
    ax.set_ylabel("Fashion-MNIST test accuracy")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    info = machine_info()
    results = {name: run_model(args, name) for name in args.models}
    doc = {"command": "python benchmarks/lineage.py " + " ".join(
               sys.argv[1:] if argv is None else argv),
           "machine": info, "num_train": args.num_train, "num_test": args.num_test,
           "full_schedule": args.full_schedule,
           "results": results}
    write_json(os.path.join(args.out, "lineage.json"), doc)
    plot(results, os.path.join(args.out, "lineage.png"))
    block = "%s\n%s\n\nMachine:\n\n%s\n%s" % (BEGIN, table(results),
                                               "\n".join(machine_lines(info)), END)
    path = os.path.join(args.out, "lineage.md")
    if os.path.exists(path):
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda m: block,
                      open(path).read(), flags=re.S)
    else:
        text = "# The lineage on Fashion-MNIST\n\nCommand: `%s`\n\n%s\n" % (doc["command"],
                                                                          block)
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            f.write(text)
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
