"""``gluon-resnet lab gradients`` and ``gluon-resnet lab degradation``: the experiments of
:mod:`gluon_resnet.lab` from the command line, with a table, plots and JSON.

Argument parsing and file writing only; the measurements are :mod:`gluon_resnet.lab`'s.
"""
import os
import sys

from .common import PROG, CLIError, _float_in, _int_in, _load_data, _prepare_out

DEFAULT_GRADIENT_MODELS = "cifar_plain20,cifar_plain56,cifar_resnet20,cifar_resnet56"
DEFAULT_DEGRADATION_MODELS = DEFAULT_GRADIENT_MODELS


def _models(text):
    from ..models.registry import list_models, unknown_model_message
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise CLIError("--models: expected comma-separated model names, got %r" % text)
    if len(set(names)) != len(names):
        raise CLIError("--models names a model twice: %r" % text)
    for n in names:
        if n not in list_models():
            raise CLIError("--models: " + unknown_model_message(n))
    return names


def _distances(text):
    import argparse
    try:
        values = [float(d) for d in text.split(",") if d.strip()]
    except ValueError:
        values = []
    if not values or any(not v > 0 for v in values):
        raise argparse.ArgumentTypeError(
            "expected comma-separated positive numbers such as 0.01,0.1, got %r" % text)
    return values


def _save_figure(fig, path):
    from ..params import atomic_path
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)


def _figure(ncols, width=5.0, height=3.6):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width * ncols, height))
    FigureCanvasAgg(fig)
    return fig, [fig.add_subplot(1, ncols, i + 1) for i in range(ncols)]


def gradients_table(results, response_mode="inference"):
    """The text table of ``lab gradients``: one row per model; the last column's header
    names the mode the responses were measured in (``'training'``: batch statistics)."""
    stages = []
    for r in results.values():
        for s in r["gradient_norms"]["stages"]:
            if s not in stages:
                stages.append(s)
    distances = next(iter(results.values()))["gradient_correlation"]["distances"]
    head = ["model", "layers"] + ["grad %s" % s for s in stages] + \
        ["corr@%g" % d for d in distances] + ["resp std (%s mode)" % response_mode]
    rows = [head]
    for name, r in results.items():
        norms = r["gradient_norms"]
        stds = [x["std"] for x in r["layer_responses"]]
        rows.append([name, str(len(norms["layers"]))] +
                    ["%.2e" % norms["stages"][s] if s in norms["stages"] else "-"
                     for s in stages] +
                    ["%.3f" % c for c in r["gradient_correlation"]["correlation"]] +
                    ["%.3f" % (sum(stds) / len(stds))])
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.rjust(w) if i else c.ljust(w)
                               for i, (c, w) in enumerate(zip(row, widths))) for row in rows)


def _cmd_gradients(args):
    import mxnet as mx

    from .. import lab
    from ..data import FASHION_MNIST_MEAN, FASHION_MNIST_STD
    from ..params import write_json
    from ..models.registry import get_model
    models = args.models
    _prepare_out(args.out, resume=True)
    _, test_iter = _load_data(args, args.batch_size, None, mx.cpu(), num_train=10,
                              num_test=args.batch_size, shuffle=False,
                              mean=FASHION_MNIST_MEAN, std=FASHION_MNIST_STD)
    X, y = next(iter(test_iter))
    results = {}
    for name in models:
        mx.random.seed(args.seed)
        if args.runs is not None:
            net = _trained(args.runs, name)
        else:
            net = get_model(name, classes=10, in_channels=1,
                            thumbnail=not name.startswith("cifar_"))
        results[name] = {
            "gradient_norms": lab.gradient_norms(net, X, y),
            "gradient_correlation": lab.gradient_correlation(net, X, args.distances,
                                                             seed=args.seed),
            # untrained: BatchNorm's running statistics are still the defaults (mean 0,
            # var 1), so inference mode would show a residual stream that only grows;
            # batch statistics are what the net sees in training. Trained: the paper's Fig. 7.
            "layer_responses": lab.layer_responses(net, X, train_mode=args.runs is None)}
        print("%s done" % name, file=sys.stderr)
    mode = "inference" if args.runs else "training"
    print(gradients_table(results, mode))
    json_path = os.path.join(args.out, "gradients.json")
    when = "trained (%s)" % args.runs if args.runs else "at initialisation"
    write_json(json_path, {"models": results, "batch_size": args.batch_size,
                           "seed": args.seed, "nets": when,
                           "responses": "%s mode (%s statistics)" % (
                               mode, "running" if args.runs else "batch"),
                           "data": "the first Fashion-MNIST test images, class-stratified"})
    fig, (a, b, c) = _figure(3)
    lab.plot_gradient_norms(a, {n: r["gradient_norms"] for n, r in results.items()})
    a.set_title("gradient RMS per layer, %s" % ("trained" if args.runs else "at init"))
    lab.plot_layer_responses(b, {n: r["layer_responses"] for n, r in results.items()})
    b.set_title("layer responses (std), %s" % (
        "inference mode" if args.runs else "training mode (batch statistics)"))
    for name, r in results.items():
        corr = r["gradient_correlation"]
        c.plot(corr["distances"], corr["correlation"], "o-", label=name)
    c.set_xscale("log")
    c.set_xlabel("distance of the neighbour (x std of the batch)")
    c.set_ylabel("input-gradient correlation")
    c.set_title("shattered gradients")
    c.legend(fontsize="small")
    png_path = os.path.join(args.out, "gradients.png")
    _save_figure(fig, png_path)
    print("%-16s %s\n%-16s %s" % ("gradients.json", json_path, "gradients.png", png_path))
    return 0


def _trained(runs, name):
    from ..training.checkpoint import load_checkpoint
    path = os.path.join(runs, name)
    try:
        net, _ = load_checkpoint(path)
    except (OSError, ValueError) as err:
        raise CLIError("--runs: no trained %s in %s (%s); train it with `%s lab "
                       "degradation --out %s`" % (name, runs, err, PROG, runs)) from None
    return net


class _WriteDegradation:
    """After every epoch: ``degradation.json`` and ``degradation.png`` with the models
    done so far and the one training."""

    def __init__(self, out, done, name, settings):
        self.out, self.done, self.name, self.settings = out, done, name, settings

    def on_epoch_end(self, state):
        from ..lab import history_errors
        write_degradation(self.out, dict(self.done, **{self.name: history_errors(state.history)}),
                          self.settings)


def write_degradation(out, results, settings):
    """Write ``out/degradation.json`` and ``out/degradation.png`` (the paper's Fig. 6:
    plain nets on the left, residual nets on the right)."""
    from .. import lab
    from ..params import write_json
    write_json(os.path.join(out, "degradation.json"), {"settings": settings,
                                                       "results": results})
    plain = {n: r for n, r in results.items() if "plain" in n}
    residual = {n: r for n, r in results.items() if n not in plain}
    groups = [(t, g) for t, g in (("plain", plain), ("residual", residual)) if g]
    fig, axes = _figure(len(groups))
    top = max(max(r["train_error"] + r["test_error"]) for r in results.values())
    for ax, (title, group) in zip(axes, groups):
        lab.plot_degradation(ax, group)
        ax.set_title("%s nets" % title)
        ax.set_ylim(0, top * 100 * 1.05)
    _save_figure(fig, os.path.join(out, "degradation.png"))


def _cmd_degradation(args):
    import mxnet as mx

    from .. import lab
    from ..training.callbacks import PrintLines, ProgressBar
    from ..training.checkpoint import CheckpointError, RunLocked
    from ..training.loop import TrainingDiverged
    models = args.models
    _prepare_out(args.out, resume=True)
    existing = [n for n in models if os.path.exists(os.path.join(args.out, n))]
    if existing and not args.resume:
        raise CLIError("%s already holds runs of %s; add --resume to continue them, or "
                       "choose another --out" % (args.out, ", ".join(existing)))
    # Checks the data before the first model trains.
    _load_data(args, args.batch_size, None, mx.cpu(), num_train=args.num_train,
               num_test=args.num_test)
    settings = dict(lab.DEGRADATION_SCHEDULE, lr=args.lr, batch_size=args.batch_size,
                    epochs=args.epochs, seed=args.seed, num_train=args.num_train,
                    num_test=args.num_test, models=models)
    done = {}
    for name in models:
        print("%s:" % name)
        try:
            result = lab.degradation(
                [name], args.epochs, out=args.out, resume=True, batch_size=args.batch_size,
                lr=args.lr, seed=args.seed, num_train=args.num_train, num_test=args.num_test,
                data_dir=args.data_dir, callbacks=lambda n: [
                    ProgressBar(), PrintLines(),
                    _WriteDegradation(args.out, done, n, settings)])
        except (RunLocked, ValueError) as err:
            raise CLIError(str(err)) from None
        except (TrainingDiverged, CheckpointError) as err:
            print("%s: error: %s: %s" % (PROG, name, err), file=sys.stderr)
            raise SystemExit(1) from None
        except KeyboardInterrupt:
            print("%s: interrupted; finished epochs are saved in %s: run the same command "
                  "with --resume to continue" % (PROG, args.out), file=sys.stderr)
            raise SystemExit(130) from None
        done.update(result)
        write_degradation(args.out, done, settings)
    print("%-16s %s" % ("model", "train error / test error after each epoch (%)"))
    for name, r in done.items():
        print("%-16s %s" % (name, "  ".join("%.1f/%.1f" % (100 * a, 100 * b) for a, b in
                                            zip(r["train_error"], r["test_error"]))))
    for name in ("degradation.json", "degradation.png"):
        print("%-16s %s" % (name, os.path.join(args.out, name)))
    return 0


def add_parsers(sub):
    """Add ``lab`` and its experiments to the ``gluon-resnet`` subcommands ``sub``."""
    lab = sub.add_parser("lab", help="why residual learning works: gradients and "
                         "degradation, plain vs residual nets",
                         description="Experiments of gluon_resnet.lab on Fashion-MNIST.")
    labsub = lab.add_subparsers(dest="experiment", metavar="EXPERIMENT", required=True)

    p = labsub.add_parser(
        "gradients", help="gradient norms, gradient correlation and layer responses",
        description="Build each model at initialisation (seeded), or load it trained "
        "(--runs), and measure, on one batch of Fashion-MNIST test images: the gradient "
        "RMS of every layer and stage (training mode), the correlation of the input "
        "gradients of nearby inputs (shattered gradients; training mode), and the std of "
        "every layer's response after BatchNorm (inference mode, the paper's Fig. 7). "
        "Prints a table; writes OUT/gradients.json and OUT/gradients.png.")
    p.add_argument("--models", type=_models, default=_models(DEFAULT_GRADIENT_MODELS),
                   help="comma-separated model names (default %s)" % DEFAULT_GRADIENT_MODELS)
    p.add_argument("--batch-size", type=_int_in(2, 10000, "an integer"), default=64,
                   help="images in the batch (default 64)")
    p.add_argument("--distances", type=_distances, default=[0.001, 0.01, 0.1],
                   help="neighbour distances, relative to the batch's std (default "
                   "0.001,0.01,0.1)")
    p.add_argument("--seed", type=_int_in(0, what="an integer"), default=0,
                   help="builds the nets and draws the neighbours (default 0)")
    p.add_argument("--runs", metavar="DIR", default=None,
                   help="measure the trained nets of `lab degradation --out DIR` "
                   "(DIR/MODEL) instead of nets at initialisation")
    p.add_argument("--data-dir", default=None, help="Fashion-MNIST directory")
    p.add_argument("--out", default=os.path.join("runs", "lab-gradients"),
                   help="where to write (default runs/lab-gradients)")
    p.set_defaults(func=_cmd_gradients)

    p = labsub.add_parser(
        "degradation", help="train plain and residual nets side by side (resumable)",
        description="Train each model on the same Fashion-MNIST data, schedule (SGD, "
        "momentum 0.9, weight decay 1e-4, rate divided by 10 at 1/2 and 3/4 of the "
        "epochs) and seed, one after the other, with checkpoints in OUT/MODEL; after "
        "every epoch writes OUT/degradation.json (training and test error per epoch) and "
        "OUT/degradation.png. Stopped, it continues with --resume.")
    p.add_argument("--models", type=_models, default=_models(DEFAULT_DEGRADATION_MODELS),
                   help="comma-separated model names (default %s)"
                   % DEFAULT_DEGRADATION_MODELS)
    p.add_argument("--epochs", type=_int_in(1, what="an integer"), required=True,
                   help="epochs per model (the schedule's milestones depend on it)")
    p.add_argument("--batch-size", type=_int_in(1, what="an integer"), default=128,
                   help="default 128, as the paper")
    p.add_argument("--lr", type=_float_in(0), default=0.1,
                   help="base learning rate (default 0.1, as the paper)")
    p.add_argument("--num-train", type=_int_in(10, 60000, "an integer"), default=None,
                   help="a class-stratified subset of the training set (default all 60,000)")
    p.add_argument("--num-test", type=_int_in(10, 10000, "an integer"), default=None,
                   help="a class-stratified subset of the test set (default all 10,000)")
    p.add_argument("--seed", type=_int_in(0, what="an integer"), default=0,
                   help="builds every net and orders the data (default 0)")
    p.add_argument("--data-dir", default=None, help="Fashion-MNIST directory")
    p.add_argument("--out", default=os.path.join("runs", "lab-degradation"),
                   help="where the runs and results go (default runs/lab-degradation)")
    p.add_argument("--resume", action="store_true", help="continue the runs in --out")
    p.set_defaults(func=_cmd_degradation)
