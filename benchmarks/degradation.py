"""Why residual learning works, measured on Fashion-MNIST: degradation, gradients,
layer responses, and the identity construction.

1. Trains the models side by side with ``gluon-resnet lab degradation`` (same data,
   schedule and seed; resumable: run the same command again to continue), and reads
   back per-epoch training and test error.
2. At initialisation, for plain and residual CIFAR nets of depth 20, 56 and 110: the
   weight-gradient RMS per stage and per layer, and the correlation of the input
   gradients of nearby inputs (shattered gradients), on one batch of test images.
3. On the trained nets: the std of every layer's response (the paper's Fig. 7).
4. The construction: the trained shallow plain net deepened with identity blocks
   (``lab.deepen``) against the deep plain net trained from scratch, both evaluated in
   inference mode on the training subset and the test set.

Outputs in ``--out`` (default ``benchmarks/results``): ``degradation.json`` (everything),
``degradation.png`` (training/test error curves), ``degradation_gradients.png``,
``degradation_responses.png``, and the measured tables written between the markers of
``degradation.md`` (created if missing).

Usage::

    OMP_NUM_THREADS=2 python benchmarks/degradation.py --epochs 12 --num-train 10000 \\
        --num-test 5000 --runs runs/degradation
    python benchmarks/degradation.py --quick --out /tmp/q --runs /tmp/q/runs
"""
import argparse
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import gluon_resnet  # noqa: E402,F401  (before mxnet)
import mxnet as mx  # noqa: E402

from _machine import machine_info, machine_lines  # noqa: E402
from gluon_resnet import cli, lab  # noqa: E402
from gluon_resnet.cli import lab as cli_lab
from gluon_resnet.training.checkpoint import load_checkpoint  # noqa: E402
from gluon_resnet.data import (FASHION_MNIST_MEAN, FASHION_MNIST_STD,  # noqa: E402
                               load_data_fashion_mnist)
from gluon_resnet.params import atomic_path, write_json  # noqa: E402
from gluon_resnet.models.registry import get_model  # noqa: E402
from gluon_resnet.training import evaluate_accuracy  # noqa: E402

MODELS = "cifar_plain20,cifar_resnet20,cifar_plain56,cifar_resnet56"
BEGIN, END = "<!-- measured: begin -->", "<!-- measured: end -->"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", default=MODELS)
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--num-train", type=int, default=10000)
    p.add_argument("--num-test", type=int, default=5000)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--depths", default="20,56,110",
                   help="CIFAR depths for the gradient measurements at initialisation")
    p.add_argument("--grad-batch", type=int, default=64)
    p.add_argument("--runs", default=os.path.join("runs", "degradation"))
    p.add_argument("--data-dir", default=None)
    p.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results"))
    p.add_argument("--quick", action="store_true",
                   help="a tiny configuration that checks the script runs")
    args = p.parse_args(argv)
    if args.quick:
        args.models, args.epochs, args.num_train, args.num_test = \
            "cifar_plain20,cifar_resnet20,cifar_plain32", 1, 64, 20
        args.batch_size, args.depths, args.grad_batch = 32, "20", 8
    return args


def _batch(args, n):
    _, test_iter = load_data_fashion_mnist(n, root=args.data_dir, num_train=10, num_test=n,
                                           shuffle=False, mean=FASHION_MNIST_MEAN,
                                           std=FASHION_MNIST_STD)
    return next(iter(test_iter))


def gradients_at_init(args):
    X, y = _batch(args, args.grad_batch)
    out = {}
    for depth in [int(d) for d in args.depths.split(",")]:
        for kind in ("plain", "resnet"):
            name = "cifar_%s%d" % (kind, depth)
            mx.random.seed(0)
            net = get_model(name, classes=10, in_channels=1)
            norms = lab.gradient_norms(net, X, y)
            corr = lab.gradient_correlation(net, X, seed=0)
            out[name] = {"depth": depth, "kind": kind, "gradient_norms": norms,
                         "gradient_correlation": corr}
            print("%s: stem/stage3 gradient ratio %.3g, correlation %s" % (
                name, norms["stages"]["stem"] / norms["stages"]["stage3"],
                ", ".join("%.3f" % c for c in corr["correlation"])), file=sys.stderr)
    return out


def responses_trained(args, models):
    X, _ = _batch(args, 256 if not args.quick else 16)
    out = {}
    for name in models:
        net, _ = load_checkpoint(os.path.join(args.runs, name))
        out[name] = lab.layer_responses(net, X)
    return out


def construction(args, models):
    """Deepen each trained shallow net into each deeper one of its kind that was trained."""
    train_iter, test_iter = load_data_fashion_mnist(
        256, root=args.data_dir, num_train=args.num_train, num_test=args.num_test,
        shuffle=False, mean=FASHION_MNIST_MEAN, std=FASHION_MNIST_STD)
    nets = {n: load_checkpoint(os.path.join(args.runs, n))[0] for n in models}
    rows = []
    for shallow in models:
        for deep in models:
            kind_s, kind_d = shallow.rstrip("0123456789"), deep.rstrip("0123456789")
            depth_s, depth_d = int(shallow[len(kind_s):]), int(deep[len(kind_d):])
            if kind_s != kind_d or depth_d <= depth_s:
                continue
            built = lab.deepen(nets[shallow], deep)
            row = {"shallow_model": shallow, "deep_model": deep}
            for label, net in (("shallow", nets[shallow]), ("constructed", built),
                               ("from_scratch", nets[deep])):
                row[label] = {"train_error": 1 - evaluate_accuracy(net, train_iter),
                              "test_error": 1 - evaluate_accuracy(net, test_iter)}
            rows.append(row)
    return rows


def plots(args, grads, responses):
    fig, (a, b) = cli_lab._figure(2)
    deepest = max(g["depth"] for g in grads.values())
    lab.plot_gradient_norms(a, {n: g["gradient_norms"] for n, g in grads.items()
                                if g["depth"] in (56, deepest)})
    a.set_title("weight-gradient RMS per layer, at initialisation")
    for kind, marker in (("plain", "o-"), ("resnet", "s-")):
        rows = sorted((g["depth"], g["gradient_correlation"]["correlation"][1])
                      for g in grads.values() if g["kind"] == kind)
        b.plot([d for d, _ in rows], [c for _, c in rows], marker,
               label="plain" if kind == "plain" else "residual")
    b.set_xlabel("depth (layers)")
    b.set_ylabel("input-gradient correlation\n(neighbour at 0.01 std)")
    b.set_ylim(-0.05, 1.05)
    b.set_title("shattered gradients, at initialisation")
    b.legend()
    cli_lab._save_figure(fig, os.path.join(args.out, "degradation_gradients.png"))
    fig, (a, b) = cli_lab._figure(2)
    lab.plot_layer_responses(a, responses)
    lab.plot_layer_responses(b, responses, sort=True)
    a.set_title("layer responses of the trained nets (std)")
    b.set_title("sorted by magnitude (the paper's Fig. 7)")
    cli_lab._save_figure(fig, os.path.join(args.out, "degradation_responses.png"))


def tables(args, doc):
    lines = []
    results = doc["degradation"]["results"]
    lines += ["### Training and test error (%%) after each epoch (%d epochs)" % args.epochs,
              "", "| model | " + " | ".join("ep %d" % (i + 1) for i in range(args.epochs)) +
              " |", "|---|" + "---|" * args.epochs]
    for name, r in results.items():
        lines.append("| %s | %s |" % (name, " | ".join(
            "%.1f / %.1f" % (100 * a, 100 * b)
            for a, b in zip(r["train_error"], r["test_error"]))))
    lines += ["", "Each cell: training error (measured while training, as the paper's thin "
              "curves) / test error.", ""]
    lines += ["### Gradients at initialisation (one batch of %d test images)"
              % args.grad_batch, "",
              "| model | grad RMS stem | stage1 | stage2 | stage3 | head | stem / stage3 | "
              "corr @0.001 | @0.01 | @0.1 |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name, g in doc["gradients_at_init"].items():
        s = g["gradient_norms"]["stages"]
        c = g["gradient_correlation"]["correlation"]
        lines.append("| %s | %.2e | %.2e | %.2e | %.2e | %.2e | %.3g | %s |" % (
            name, s["stem"], s["stage1"], s["stage2"], s["stage3"], s["head"],
            s["stem"] / s["stage3"], " | ".join("%.3f" % v for v in c)))
    lines += ["", "### Layer responses of the trained nets (std after BatchNorm, inference "
              "mode)", "", "| model | layers | mean std | median | max |", "|---|---|---|---|---|"]
    for name, rows in doc["responses_trained"].items():
        stds = sorted(r["std"] for r in rows)
        lines.append("| %s | %d | %.3f | %.3f | %.3f |" % (
            name, len(stds), sum(stds) / len(stds), stds[len(stds) // 2], stds[-1]))
    lines += ["", "### The identity construction (inference mode; error in %)", "",
              "| shallow (trained) | deep | shallow train / test | constructed train / test | "
              "deep from scratch train / test |", "|---|---|---|---|---|"]
    for row in doc["construction"]:
        lines.append("| %s | %s | %s | %s | %s |" % (row["shallow_model"], row["deep_model"], *[
            "%.2f / %.2f" % (100 * row[k]["train_error"], 100 * row[k]["test_error"])
            for k in ("shallow", "constructed", "from_scratch")]))
    lines += ["", "Machine:", ""] + machine_lines(doc["machine"])
    return "\n".join(lines)


def write_md(args, doc):
    path = os.path.join(args.out, "degradation.md")
    block = "%s\n%s\n%s" % (BEGIN, tables(args, doc), END)
    if os.path.exists(path):
        text = open(path).read()
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda m: block, text,
                      flags=re.S)
    else:
        text = "# Degradation, measured\n\nCommand: `%s`\n\n%s\n" % (doc["command"], block)
    with atomic_path(path) as tmp:
        with open(tmp, "w") as f:
            f.write(text)


def main(argv=None):
    args = parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    info = machine_info()
    models = [m.strip() for m in args.models.split(",")]
    train_cmd = ["lab", "degradation", "--models", args.models, "--epochs", str(args.epochs),
                 "--num-train", str(args.num_train), "--num-test", str(args.num_test),
                 "--batch-size", str(args.batch_size), "--out", args.runs, "--resume"]
    if args.data_dir:
        train_cmd += ["--data-dir", args.data_dir]
    code = cli.main(train_cmd)
    if code:
        return code
    with open(os.path.join(args.runs, "degradation.json")) as f:
        degradation = json.load(f)
    cli_lab.write_degradation(args.out, degradation["results"], degradation["settings"])
    grads = gradients_at_init(args)
    responses = responses_trained(args, models)
    doc = {"command": "python benchmarks/degradation.py " + " ".join(
               sys.argv[1:] if argv is None else argv),
           "machine": info, "degradation": degradation, "gradients_at_init": grads,
           "responses_trained": responses, "construction": construction(args, models)}
    write_json(os.path.join(args.out, "degradation.json"), doc)
    plots(args, grads, responses)
    write_md(args, doc)
    print(tables(args, doc))
    return 0


if __name__ == "__main__":
    sys.exit(main())
