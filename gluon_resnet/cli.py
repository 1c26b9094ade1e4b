"""The ``gluon-resnet`` command: ``train``, ``evaluate``, ``export``, ``models``,
``split-data``, ``predict``, ``convert``, ``info``, ``launch`` and ``lab`` (in
:mod:`gluon_resnet.cli_lab`).

Argument parsing only; the work is done by :mod:`gluon_resnet.train`,
:mod:`gluon_resnet.checkpoint`, :mod:`gluon_resnet.deploy`, :mod:`gluon_resnet.summary`,
:mod:`gluon_resnet.images`, :mod:`gluon_resnet.finetune` and :mod:`gluon_resnet.predict`.
Bad arguments end with one line on stderr, ``gluon-resnet: error: ...``, and exit status
2; a training run that diverged or could not write its checkpoint ends with exit status 1.

Threads: MXNet reads ``OMP_NUM_THREADS`` once, when it is imported, and without it
uses half the processors (on x86), which on small machines trains ResNet-18 at about
60% of the speed it reaches with all of them. When run as a program and the variable is
not set, :func:`main` sets it to ``os.cpu_count()`` (logical processors; on machines
without simultaneous multithreading that is the number of physical cores) and, because
importing ``gluon_resnet`` has already imported MXNet, re-executes itself once
(POSIX only). A value the user set is never changed.
"""
import argparse
import json
import os
import re
import sys

PROG = "gluon-resnet"
_MAX_RESIZE = 1024
_SPLITS = {"num_train": 60000, "num_test": 10000}


class CLIError(Exception):
    """A bad argument: reported as one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise CLIError("%s (see %s --help)" % (message, self.prog))


def _int_in(low, high=None, what="a number"):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError("expected %s, got %r" % (what, text)) from None
        if value < low or (high is not None and value > high):
            bounds = ">= %d" % low if high is None else "between %d and %d" % (low, high)
            raise argparse.ArgumentTypeError("must be %s, got %d" % (bounds, value))
        return value
    return parse


def _float_in(low, high=None, high_open=False):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError("expected a number, got %r" % text) from None
        if not (value >= low and (high is None or (value < high if high_open else value <= high))):
            bounds = ">= %g" % low if high is None else "in [%g, %g%s" % (
                low, high, ")" if high_open else "]")
            raise argparse.ArgumentTypeError("must be %s, got %r" % (bounds, text))
        return value
    return parse


def _milestones(text):
    try:
        return [float(m) for m in text.split(",") if m.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            "expected comma-separated epochs such as 30,60, got %r" % text) from None


def parse_ctx(text):
    """``'cpu'``, ``'gpu0'``, ``'gpu0,gpu1'`` -> a list of MXNet contexts.

    Raises
    ------
    CLIError
        For anything else, for repeated contexts, or for GPUs that are not there.
    """
    import mxnet as mx
    ctxs = []
    for part in text.split(","):
        match = re.fullmatch(r"\s*(cpu|gpu)(\d*)\s*", part.lower())
        if not match:
            raise CLIError("--ctx: expected cpu, gpuN or a comma-separated list such as "
                           "gpu0,gpu1; got %r" % text)
        kind, index = match.group(1), int(match.group(2) or 0)
        ctxs.append(mx.cpu(index) if kind == "cpu" else mx.gpu(index))
    if len(set(ctxs)) != len(ctxs):
        raise CLIError("--ctx lists a device twice: %r" % text)
    from .context import GPUUnavailableError, check_ctx
    try:
        check_ctx(ctxs, "--ctx %s" % text)
    except GPUUnavailableError as err:
        raise CLIError(str(err)) from None
    return ctxs


def _check_model(name):
    from .registry import list_models, unknown_model_message
    if name not in list_models():
        raise CLIError(unknown_model_message(name))


def _prepare_out(out, resume):
    """Create the run directory and check it can be written; refuse to overwrite a run."""
    import tempfile

    from .checkpoint import CHECKPOINT_FILE
    try:
        os.makedirs(out, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as err:
        raise CLIError("cannot write to --out %s: %s" % (out, err.strerror or err)) from None
    if os.path.isfile(os.path.join(out, CHECKPOINT_FILE)) and not resume:
        raise CLIError("%s already holds a trained run; add --resume to continue it, or "
                       "choose another --out" % out)


def _load_data(args, batch_size, resize, ctx, **kwargs):
    from .data import DatasetNotFoundError, load_data_fashion_mnist
    try:
        return load_data_fashion_mnist(batch_size, resize=resize, root=args.data_dir, ctx=ctx,
                                       **kwargs)
    except (DatasetNotFoundError, ValueError) as err:
        raise CLIError(str(err)) from None


def _check_folder_options(args):
    """Options that apply to Fashion-MNIST only, or to image folders only."""
    if args.data is not None:
        for flag, value in (("--num-train", args.num_train), ("--num-test", args.num_test),
                            ("--data-dir", args.data_dir)):
            if value is not None:
                raise CLIError("%s applies to Fashion-MNIST; with --data every image of the "
                               "folder is used" % flag)
    else:
        for flag, value in (("--from", args.base), ("--freeze", args.freeze),
                            ("--channels", args.channels), ("--val-ratio", args.val_ratio)):
            if value:
                raise CLIError("%s needs --data (your own image folder)" % flag)
    if args.freeze and not args.base:
        raise CLIError("--freeze trains only the new output layer; it needs --from")


def _folder_setup(args, ctx):
    """--data (and --from): the net, the iterators and the metadata of an image-folder run."""
    import mxnet as mx

    from .data import load_data_image_folder
    from .finetune import freeze_features, load_base, replace_output
    from .registry import get_model
    base = {"model": args.model, "in_channels": args.channels, "mean": None, "std": None}
    net = None
    if args.base:
        try:
            net, base = load_base(args.base, model=args.model, thumbnail=args.thumbnail, ctx=ctx)
        except (OSError, ValueError) as err:
            raise CLIError("--from: %s" % err) from None
        if args.channels and args.channels != base["in_channels"]:
            raise CLIError("--channels %d, but the weights of --from %s take %d channel(s)"
                           % (args.channels, args.base, base["in_channels"]))
    model = base["model"] or "resnet18"
    _check_model(model)
    if args.out is None:
        args.out = os.path.join("runs", model)
    _prepare_out(args.out, args.resume)
    val_ratio = 0.2 if args.val_ratio is None else args.val_ratio
    split_seed = args.seed or 0
    try:
        train_iter, val_iter, class_names = load_data_image_folder(
            args.data, args.batch_size, channels=base["in_channels"] or None, size=args.resize,
            augment=args.augment, val_ratio=val_ratio, split_seed=split_seed, seed=args.seed,
            mean=base["mean"], std=base["std"], ctx=ctx[0])
    except (OSError, ValueError) as err:
        raise CLIError(str(err)) from None
    channels, height, width = train_iter._images.shape[1:]
    if not val_iter.num_examples:
        raise CLIError("%s leaves no validation images (classes of 1 image go to train); add "
                       "images or a val/ folder" % args.data)
    if args.seed is not None:
        mx.random.seed(args.seed)
    try:
        if net is None:
            net = get_model(model, classes=len(class_names), in_channels=int(channels),
                            thumbnail=args.thumbnail, ctx=ctx)
        else:
            replace_output(net, len(class_names))
            if args.freeze:
                freeze_features(net)
        with mx.autograd.predict_mode():
            net(mx.nd.zeros((1, channels, height, width), ctx=ctx[0]))  # checks the input size
    except ValueError as err:
        raise CLIError(str(err)) from None
    from .data import _has_split
    metadata = {"dataset": "image-folder", "data": os.path.abspath(args.data),
                "class_names": class_names, "channels": int(channels), "resize": args.resize,
                "mean": base["mean"], "std": base["std"], "batch_size": args.batch_size,
                "augment": args.augment, "split": "folders" if _has_split(args.data)
                else "on the fly", "val_ratio": val_ratio, "split_seed": split_seed,
                "num_train": train_iter.num_examples, "num_val": val_iter.num_examples,
                "from": args.base, "freeze": args.freeze}
    return model, net, train_iter, val_iter, metadata


def _cmd_train(args):
    import mxnet as mx

    from .registry import get_model
    _check_folder_options(args)
    _check_kvstore(args)
    args.kv, args.rank = _join_job(args)  # first: a job's error ends it before any work
    if args.data is not None:
        ctx = parse_ctx(args.ctx)
        args.model, net, train_iter, test_iter, metadata = _folder_setup(args, ctx)
        return _run_training(args, net, train_iter, test_iter, ctx, metadata)
    args.model = args.model or "resnet18"
    _check_model(args.model)
    ctx = parse_ctx(args.ctx)
    _prepare_out(args.out, args.resume)
    train_iter, test_iter = _load_data(
        args, args.batch_size, args.resize, ctx[0], augment=args.augment, seed=args.seed,
        num_train=args.num_train, num_test=args.num_test, progress=True)
    if args.seed is not None:
        mx.random.seed(args.seed)
    size = args.resize or 28
    try:
        net = get_model(args.model, classes=10, in_channels=1, thumbnail=args.thumbnail, ctx=ctx)
        with mx.autograd.predict_mode():
            net(mx.nd.zeros((1, 1, size, size), ctx=ctx[0]))  # checks the input size
    except ValueError as err:
        raise CLIError(str(err)) from None
    metadata = {"dataset": "fashion-mnist", "resize": args.resize, "batch_size": args.batch_size,
                "num_train": args.num_train, "num_test": args.num_test, "augment": args.augment}
    return _run_training(args, net, train_iter, test_iter, ctx, metadata)


def _check_kvstore(args):
    """What --kvstore cannot do, said before any process joins a job. dist_async keeps
    the optimizer state on the servers: its runs write history and curves but no
    checkpoints, and cannot resume."""
    from .distributed import check_kvstore_args
    if args.kvstore == "dist_async" and args.resume:
        raise CLIError("--kvstore dist_async writes no checkpoints (the optimizer state "
                       "lives on the servers), so there is nothing to --resume")
    try:
        check_kvstore_args(args.kvstore, args.schedule, None, args.warmup, None,
                           parse_ctx(args.ctx))
    except ValueError as err:
        raise CLIError(str(err)) from None


def _join_job(args):
    """With a dist_* or horovod --kvstore, join the launcher's job first: the rank
    decides who prints and writes. Returns the kvstore (or its name) and this worker's
    rank, or None outside a job."""
    from .distributed import Distributed, is_distributed
    if args.kvstore is None or not is_distributed(args.kvstore):
        return args.kvstore, None
    try:
        job = Distributed(args.kvstore)
    except ValueError as err:
        raise CLIError(str(err)) from None
    return job.kvstore, job.rank


def _run_training(args, net, train_iter, test_iter, ctx, metadata):
    from .callbacks import PrintLines, ProgressBar, SaveCurves, SaveHistory
    from .checkpoint import CHECKPOINT_FILE, CheckpointError, RunLocked
    from .train import TrainingDiverged, train
    kvstore, rank = args.kv, args.rank
    paths = {name: os.path.join(args.out, name)
             for name in (CHECKPOINT_FILE, "history.json", "curves.png")}
    callbacks = [ProgressBar(), PrintLines(), SaveCurves(paths["curves.png"]),
                 SaveHistory(paths["history.json"])]
    if rank is not None:  # a worker of a job: rank 0 reports, no bars
        callbacks = callbacks[1:] if rank == 0 else []
    checkpoints = args.kvstore != "dist_async"  # its optimizer state is on the servers
    if not checkpoints:
        del paths[CHECKPOINT_FILE]
    try:
        history = train(
            net, train_iter, test_iter, args.epochs, args.lr, ctx, optimizer=args.optimizer,
            momentum=args.momentum, wd=args.wd, schedule=args.schedule,
            milestones=args.milestones, factor=args.factor, warmup_epochs=args.warmup,
            label_smoothing=args.label_smoothing, callbacks=callbacks,
            checkpoint_dir=args.out if checkpoints else None,
            resume=args.resume, seed=args.seed, metadata=metadata,
            allow_pickle=args.trust_pickle, precision=args.precision, kvstore=kvstore)
    except (RunLocked, ValueError) as err:  # train's checks, made before any training
        raise CLIError(str(err)) from None
    except (TrainingDiverged, CheckpointError) as err:
        print("%s: error: %s" % (PROG, err), file=sys.stderr)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        print("%s: interrupted; the last finished epoch is saved in %s: run the same command "
              "with --resume to continue" % (PROG, args.out), file=sys.stderr)
        raise SystemExit(130) from None
    if rank:
        return 0
    if len(history):
        what = "val" if metadata["dataset"] == "image-folder" else "test"
        print("%s after %d epochs: %s acc %.3f" % (args.model, len(history), what,
                                                   history.test_acc[-1]))
    for name, path in paths.items():
        print("%-16s %s" % (name, path))
    if not checkpoints:
        print("no checkpoint: with dist_async the optimizer state lives on the servers")
    return 0


def _cmd_evaluate(args):
    from .checkpoint import load_checkpoint
    from .train import evaluate_accuracy
    ctx = parse_ctx(args.ctx)
    try:
        net, doc = load_checkpoint(args.run, ctx=ctx)
    except (OSError, ValueError) as err:
        raise CLIError(str(err)) from None
    meta = doc.get("metadata", {})
    if meta.get("dataset") == "image-folder" or args.data is not None:
        return _evaluate_folder(args, net, doc, ctx)
    _, test_iter = _load_data(args, args.batch_size, meta.get("resize"), ctx[0], num_train=1,
                              num_test=args.num_test)
    acc = evaluate_accuracy(net, test_iter, ctx)
    print("test acc %.3f on %d images (%s after %d epochs, %s)"
          % (acc, test_iter.num_examples, doc["model"]["name"], doc["epoch"], doc["path"]))
    return 0


def _evaluate_folder(args, net, doc, ctx):
    """Accuracy of an image-folder run on its validation images (or --data's)."""
    from .data import load_data_image_folder
    from .train import evaluate_accuracy
    meta = doc.get("metadata", {})
    if meta.get("dataset") != "image-folder":
        raise CLIError("--data applies to runs trained on an image folder; %s was trained on %s"
                       % (doc["path"], meta.get("dataset", "fashion-mnist")))
    if args.num_test is not None or args.data_dir is not None:
        raise CLIError("--num-test and --data-dir apply to Fashion-MNIST runs")
    data = args.data or meta["data"]
    try:
        _, val_iter, class_names = load_data_image_folder(
            data, args.batch_size, channels=doc["model"]["in_channels"], size=meta.get("resize"),
            val_ratio=meta.get("val_ratio", 0.2), split_seed=meta.get("split_seed", 0),
            mean=meta.get("mean"), std=meta.get("std"), ctx=ctx[0])
    except (OSError, ValueError) as err:
        raise CLIError(str(err)) from None
    if list(class_names) != list(meta["class_names"]):
        raise CLIError("%s has classes %s, but the run was trained on %s"
                       % (data, ", ".join(class_names), ", ".join(meta["class_names"])))
    acc = evaluate_accuracy(net, val_iter, ctx)
    print("val acc %.3f on %d images of %s (%s after %d epochs, %s)"
          % (acc, val_iter.num_examples, data, doc["model"]["name"], doc["epoch"], doc["path"]))
    return 0


def _cmd_split_data(args):
    from .images import split_data
    try:
        report = split_data(args.src, args.dst, val_ratio=args.val_ratio, seed=args.seed,
                            link=args.link, skip_bad=args.skip_bad)
    except (OSError, ValueError) as err:
        raise CLIError(str(err)) from None
    for path, reason in report.skipped:
        print("%s: warning: skipped %s: %s" % (PROG, path, reason), file=sys.stderr)
    print(report.table())
    print("%s %s/train and %s/val" % ("linked into" if report.linked else "copied into",
                                       report.dst, report.dst))
    return 0


def _cmd_predict(args):
    import json

    from .predict import format_predictions, predict
    ctx = parse_ctx(args.ctx)
    if len(ctx) > 1:
        raise CLIError("predict runs on one context; got --ctx %s" % args.ctx)
    try:
        results = predict(args.model, args.inputs, topk=args.topk, ctx=ctx[0])
    except (OSError, ValueError, ImportError) as err:
        raise CLIError(str(err)) from None
    if args.json:
        print(json.dumps([{"path": r["path"], "top": [{"class": c, "prob": p}
                                                       for c, p in r["top"]]}
                          for r in results], indent=1))
    else:
        print(format_predictions(results))
    return 0


def _cmd_export(args):
    from .deploy import export_checkpoint
    from .checkpoint import read_checkpoint
    try:
        doc = read_checkpoint(args.run)
    except (OSError, ValueError) as err:
        raise CLIError(str(err)) from None
    if args.out is not None:
        directory = os.path.dirname(os.path.abspath(args.out))
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as err:
            raise CLIError("cannot write to %s: %s" % (directory, err.strerror or err)) from None
    try:
        paths = export_checkpoint(doc["path"], args.out, format=args.format,
                                  calib_images=args.calib_images, data_dir=args.data_dir)
    except (OSError, ValueError, ImportError) as err:
        raise CLIError(str(err)) from None
    for path in paths:
        print(path)
    return 0


def _cmd_convert(args):
    from .checkpoint import read_checkpoint
    try:
        doc = read_checkpoint(args.run, allow_pickle=True)  # converts a format-1 run
    except (OSError, ValueError) as err:
        raise CLIError(str(err)) from None
    print("%s is a checkpoint of format %d" % (doc["path"], doc["format"]))
    return 0


def _summary_shape(name):
    """The input a model is summarised at: the images it is made for (its lineage spec:
    1x28x28 or the chapter's size for the d2l forms), 3x32x32 for the CIFAR ResNets,
    3x224x224 for the ImageNet forms."""
    from .lineage import SPECS
    if name in SPECS:
        return (1,) + tuple(SPECS[name].input_shape)
    return (1, 3, 32, 32) if name.startswith("cifar_") else (1, 3, 224, 224)


def _cmd_models(args):
    from .registry import get_model, list_models
    from .summary import summary
    print("%-18s %14s %10s  %s" % ("model", "params", "MACs", "input"))
    for name in list_models():
        shape = _summary_shape(name)
        # Parameters stay uninitialised: the summary only infers shapes (initialising
        # every model would queue seconds of random-number work for nothing).
        s = summary(get_model(name, hybridize=False, initialize=False), shape)
        print("%-18s %14s %8.2f G  %s" % (name, "{:,}".format(s.total_params),
                                           s.total_macs / 1e9, "x".join(map(str, shape[1:]))))
    return 0


def _cmd_info(args):
    import platform

    import mxnet as mx

    from .cpu import cpu_report
    from .precision import auto_summary
    report = cpu_report()
    report["precision_auto"] = auto_summary()
    features = mx.runtime.Features()
    report.update(python=platform.python_version(), mxnet=mx.__version__,
                  mxnet_features=[f for f in ("MKLDNN", "CUDA", "DIST_KVSTORE", "OPENMP")
                                  if features.is_enabled(f)],
                  OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS"))
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print("CPU:      %s (%s, %s logical CPUs)" % (report["model"], report["machine"],
                                                  report["cores"]))
    print("ISA:      %s" % (" ".join(report["flags"]) or "none of those that matter here"))
    print("AMX:      %s: %s" % ("on" if report["amx"] else "off", report["amx_reason"]))
    print("auto:     %s" % report["precision_auto"])
    print("Python:   %s; MXNet %s (%s); OMP_NUM_THREADS=%s" % (
        report["python"], report["mxnet"], ", ".join(report["mxnet_features"]),
        report["OMP_NUM_THREADS"]))
    return 0


def build_parser():
    """The argument parser (``gluon-resnet --help``)."""
    parser = _Parser(prog=PROG, description="Train, evaluate and export ResNets on "
                     "Fashion-MNIST with MXNet Gluon, the d2l way.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("train", help="train a model on Fashion-MNIST or your own images, "
                       "with checkpoints",
                       description="Train a registered model on Fashion-MNIST (classes=10, "
                       "in_channels=1), or with --data on a folder of your own images. Writes "
                       "OUT/checkpoint.json (+ epoch files), OUT/history.json and "
                       "OUT/curves.png after every epoch.")
    p.add_argument("--model", default=None, help="registered model name (default "
                   "resnet18, or the model of --from; see `gluon-resnet models`)")
    p.add_argument("--data", metavar="FOLDER", default=None,
                   help="train on your own images: FOLDER holds train/ and val/ with one "
                   "folder per class (as split-data writes), or just the class folders, "
                   "split here as split-data would with --val-ratio and --seed")
    p.add_argument("--val-ratio", type=_float_in(0, 1, high_open=True), default=None,
                   help="with --data and no train/ and val/: share of each class kept for "
                   "validation (default 0.2)")
    p.add_argument("--channels", type=int, choices=(1, 3), default=None,
                   help="with --data: 1 (grayscale) or 3 (RGB); default 1 if every image is "
                   "grayscale, else 3 (or what --from takes)")
    p.add_argument("--from", dest="base", metavar="RUN_OR_PARAMS_OR_MODEL", default=None,
                   help="with --data: fine-tune from a training run (or its checkpoint.json), "
                   "a .params file of --model, or a model name (its published weights); the "
                   "output layer is replaced for the new classes")
    p.add_argument("--freeze", action="store_true",
                   help="with --from: train only the new output layer")
    p.add_argument("--epochs", type=_int_in(1, what="an integer"), default=10,
                   help="total number of epochs, including resumed ones (default 10)")
    p.add_argument("--batch-size", type=_int_in(1, what="an integer"), default=256,
                   help="examples per batch, split over the contexts (default 256)")
    p.add_argument("--lr", type=_float_in(0), default=0.05, help="base learning rate "
                   "(default 0.05)")
    p.add_argument("--resize", type=_int_in(1, _MAX_RESIZE, "pixels"), default=None,
                   help="resize the 28x28 images to RESIZE x RESIZE (d2l uses 96 for ResNet); "
                   "default: no resizing, which needs --thumbnail or a cifar_* model. With "
                   "--data: resize every image as it is read (needed if their sizes differ)")
    p.add_argument("--thumbnail", action="store_true",
                   help="3x3 stride-1 stem without max-pool, for small images")
    p.add_argument("--ctx", default="cpu", help="cpu, gpu0 or a list such as gpu0,gpu1 "
                   "(data parallel) (default cpu)")
    p.add_argument("--out", default=None, help="run directory (default runs/MODEL)")
    p.add_argument("--optimizer", choices=("sgd", "nag", "adam"), default="sgd",
                   help="default sgd (with --momentum)")
    p.add_argument("--momentum", type=_float_in(0, 1), default=0.9,
                   help="momentum of sgd and nag (default 0.9)")
    p.add_argument("--wd", type=_float_in(0), default=0.0, help="weight decay (default 0)")
    p.add_argument("--schedule", choices=("constant", "step", "cosine"), default="constant",
                   help="learning-rate schedule (default constant)")
    p.add_argument("--milestones", type=_milestones, default=None,
                   help="epochs at which the step schedule multiplies the rate by --factor, "
                   "e.g. 5,8 (default: at 1/2 and 3/4 of --epochs)")
    p.add_argument("--factor", type=_float_in(0), default=0.1,
                   help="step schedule factor (default 0.1)")
    p.add_argument("--warmup", type=_float_in(0), default=0.0,
                   help="epochs of linear learning-rate warm-up (default 0)")
    p.add_argument("--label-smoothing", type=_float_in(0, 1, high_open=True), default=0.0,
                   help="label smoothing in [0, 1) (default 0)")
    p.add_argument("--augment", action="store_true",
                   help="random crops (pad 4) and horizontal flips of training images; with "
                   "--data random resized crops (25-100%% of the area) and flips")
    p.add_argument("--seed", type=_int_in(0, what="an integer"), default=None,
                   help="seed for initialisation, shuffling and augmentation")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"), default="auto",
                   help="auto (default): on a CPU with bfloat16 instructions (avx512_bf16 "
                   "or AMX; see `gluon-resnet info`), a step of the first batch is timed in "
                   "both and the faster kept; fp32 elsewhere. bf16: bfloat16 convolutions with float32 master "
                   "weights, loss and evaluation")
    from .distributed import KVSTORES
    p.add_argument("--kvstore", choices=KVSTORES, default=None,
                   help="how gradients are combined: local or device (several --ctx in "
                   "this process; default device), or dist_sync, dist_device_sync, "
                   "dist_async for the workers of `gluon-resnet launch`, horovod for those "
                   "of `gluon-resnet launch --engine horovod` (each worker trains on its "
                   "part of the data; --batch-size is per worker)")
    p.add_argument("--num-train", type=_int_in(1, _SPLITS["num_train"], "an integer"),
                   help="train on a class-stratified subset of this size")
    p.add_argument("--num-test", type=_int_in(1, _SPLITS["num_test"], "an integer"),
                   help="test on a class-stratified subset of this size")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its last checkpoint")
    p.add_argument("--trust-pickle", action="store_true",
                   help="with --resume: accept a checkpoint of format 1, whose states are "
                   "Python pickles that can run code, and convert it; only for runs you "
                   "trust")
    p.add_argument("--data-dir", default=None, help="Fashion-MNIST directory (default "
                   "$FASHION_MNIST_DIR, else ~/.mxnet/datasets/fashion-mnist; downloaded if "
                   "missing)")
    p.set_defaults(func=_cmd_train)

    p = sub.add_parser("evaluate", help="test accuracy of a trained checkpoint",
                       description="Rebuild the net of a checkpoint and print its accuracy on "
                       "the Fashion-MNIST test set, prepared as in training.")
    p.add_argument("run", metavar="RUN_DIR_OR_CHECKPOINT",
                   help="a run directory or its checkpoint.json")
    p.add_argument("--data-dir", default=None, help="Fashion-MNIST directory")
    p.add_argument("--data", metavar="FOLDER", default=None,
                   help="for a run trained on an image folder: evaluate on this folder's "
                   "validation images (default the run's own folder)")
    p.add_argument("--ctx", default="cpu", help="cpu, gpu0 or gpu0,gpu1 (default cpu)")
    p.add_argument("--batch-size", type=_int_in(1, what="an integer"), default=256,
                   help="default 256")
    p.add_argument("--num-test", type=_int_in(1, _SPLITS["num_test"], "an integer"),
                   help="evaluate on a class-stratified subset of this size")
    p.set_defaults(func=_cmd_evaluate)

    p = sub.add_parser("export", help="write the trained net for deployment (symbol, ONNX, "
                       "int8, ONNX int8 or bf16), with a PREFIX-meta.json sidecar",
                       description="Export the trained net of a run for deployment, with "
                       "PREFIX-meta.json saying how to feed it (gluon_resnet.load_predictor "
                       "reads both). symbol: PREFIX-symbol.json + PREFIX-0000.params "
                       "(mx.gluon.SymbolBlock.imports); onnx: PREFIX.onnx (ONNX Runtime); "
                       "int8: a oneDNN-quantized symbol + params for CPUs (fastest on "
                       "large batches); onnx-int8: PREFIX.onnx quantized by ONNX Runtime "
                       "(fastest at batch 1). Both are calibrated on Fashion-MNIST "
                       "training images prepared as in training. bf16: a symbol + params "
                       "with bfloat16 convolutions (float32 in and out), for CPUs with AMX.")
    p.add_argument("run", metavar="RUN_DIR", help="a run directory or its checkpoint.json")
    p.add_argument("--out", metavar="PREFIX", default=None,
                   help="path prefix of the files (default RUN_DIR/MODEL for symbol, "
                   "RUN_DIR/MODEL-FORMAT for the others)")
    p.add_argument("--format", choices=("symbol", "onnx", "int8", "onnx-int8", "bf16"),
                   default="symbol", help="default symbol")
    p.add_argument("--calib-images", type=_int_in(1, _SPLITS["num_train"], "an integer"),
                   default=512, help="int8, onnx-int8: training images to calibrate on "
                   "(default 512)")
    p.add_argument("--data-dir", default=None, help="int8, onnx-int8: Fashion-MNIST directory")
    p.set_defaults(func=_cmd_export)

    p = sub.add_parser("models", help="list the registered models with parameters and "
                       "multiply-adds",
                       description="Every registered model with its parameter count and "
                       "multiply-adds per image, with the default number of classes, at "
                       "the input it is made for: 3x224x224, 3x32x32 for cifar_*, 1x32x32 "
                       "for lenet, the chapter's size for the d2l_* forms (1x28x28 to "
                       "1x224x224).")
    p.set_defaults(func=_cmd_models)

    p = sub.add_parser("convert", help="rewrite an old checkpoint (format 1, pickled states) "
                       "in the current format",
                       description="Checkpoints written before format 2 keep the optimizer "
                       "and random states as Python pickles, which can run code when they "
                       "are loaded, so they are refused. For a run you trust, this converts "
                       "it once; every command reads it without unpickling from then on.")
    p.add_argument("run", metavar="RUN_DIR_OR_CHECKPOINT")
    p.add_argument("--trust-pickle", action="store_true", required=True,
                   help="confirm that you trust the run (required)")
    p.set_defaults(func=_cmd_convert)

    p = sub.add_parser("split-data", help="split a folder of class folders into train/ and "
                       "val/", description="Copy SRC/CLASS/* into DST/train/CLASS and "
                       "DST/val/CLASS, stratified per class and reproducible with --seed. "
                       "The originals are never moved or changed; DST must not exist or be "
                       "empty.")
    p.add_argument("src", metavar="SRC", help="a folder with one folder per class (at least 2)")
    p.add_argument("dst", metavar="DST", help="a new (or empty) folder")
    p.add_argument("--val-ratio", type=_float_in(0, 1, high_open=True), default=0.2,
                   help="share of each class for validation (default 0.2)")
    p.add_argument("--seed", type=_int_in(0, what="an integer"), default=0,
                   help="seed of the split (default 0)")
    p.add_argument("--link", action="store_true",
                   help="hard-link the files instead of copying them (same file system)")
    p.add_argument("--skip-bad", action="store_true",
                   help="leave out non-image files and unreadable images (listed as "
                   "warnings) instead of stopping")
    p.set_defaults(func=_cmd_split_data)

    p = sub.add_parser("predict", help="classify image files with a run or an export",
                       description="Print the top classes, with probabilities, of PNG/JPEG "
                       "images (or of every image in a folder).")
    p.add_argument("model", metavar="MODEL", help="a run directory, its checkpoint.json, or "
                   "an export prefix (as `gluon-resnet export` wrote)")
    p.add_argument("inputs", metavar="IMAGE_OR_FOLDER", nargs="+")
    p.add_argument("--topk", type=_int_in(1, what="an integer"), default=5,
                   help="classes per image (default 5)")
    p.add_argument("--json", action="store_true", help="print JSON: a list of {path, top: "
                   "[{class, prob}, ...]}")
    p.add_argument("--ctx", default="cpu", help="cpu or gpuN (default cpu)")
    p.set_defaults(func=_cmd_predict)

    p = sub.add_parser("info", help="this machine's CPU, its ISA flags, and whether "
                       "oneDNN may use AMX", description="The CPU model, the vector and "
                       "matrix ISA flags that decide MXNet's (oneDNN's) kernels, whether AMX "
                       "was unlocked for oneDNN and why (or why not), and the versions.")
    p.add_argument("--json", action="store_true", help="print it as JSON")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser(
        "launch", help="train in several processes or machines (MXNet's parameter server)",
        description="Start a scheduler, servers and workers of a ps-lite job and run the "
        "command after -- in every worker, e.g. gluon-resnet launch --workers 2 -- train "
        "--kvstore dist_sync --epochs 5. Local processes on the loopback interface by "
        "default; with --hosts over ssh. Every worker's output is prefixed with its rank. "
        "When any process fails, all are stopped and the exit status is non-zero.")
    p.add_argument("--workers", "-n", type=_int_in(1, what="an integer"), required=True,
                   help="number of workers (training processes)")
    p.add_argument("--servers", "-s", type=_int_in(1, what="an integer"), default=None,
                   help="number of servers (default 1)")
    p.add_argument("--engine", choices=("ps", "horovod"), default="ps",
                   help="ps (default): MXNet's parameter server, for train --kvstore "
                   "dist_sync|dist_device_sync|dist_async; horovod: horovodrun --gloo, for "
                   "train --kvstore horovod (needs Horovod, see the README)")
    p.add_argument("--hosts", metavar="FILE", default=None,
                   help="machines for servers and workers, one per line, reached with "
                   "password-less ssh; each needs this Python, this package and the data "
                   "at the same paths (default: all on this machine)")
    p.add_argument("--port", type=_int_in(1, 65535, "a port"), default=None,
                   help="the scheduler's port (default: a free one)")
    p.add_argument("--interface", default=None,
                   help="network interface ps-lite binds (DMLC_INTERFACE; default lo "
                   "without --hosts)")
    p.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                   help="set a variable in every process (repeatable)")
    p.add_argument("--ssh", default="ssh", help="ssh program (default ssh)")
    p.add_argument("command", nargs=argparse.REMAINDER,
                   help="after --: the workers' command, a gluon-resnet subcommand "
                   "(train ...) or any program")
    p.set_defaults(func=_cmd_launch)

    from . import cli_lab
    cli_lab.add_parser(sub)
    return parser


def _cmd_launch(args):
    from .launcher import LaunchError, launch, read_hosts
    env = {}
    for item in args.env:
        name, sep, value = item.partition("=")
        if not sep or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            raise CLIError("--env takes NAME=VALUE, got %r" % item)
        env[name] = value
    try:
        if args.engine == "horovod" and args.servers is not None:
            raise CLIError("--servers is for the parameter server (--engine ps); Horovod "
                           "has no servers")
        hosts = read_hosts(args.hosts) if args.hosts else None
        return launch(args.command, args.workers, args.servers or 1, hosts=hosts,
                      port=args.port, env=env, ssh=args.ssh, interface=args.interface,
                      engine=args.engine)
    except LaunchError as err:
        raise CLIError(str(err)) from None


def _default_threads():
    """Set OMP_NUM_THREADS if the user did not; re-execute if MXNet is already loaded."""
    if "OMP_NUM_THREADS" in os.environ:
        return
    os.environ["OMP_NUM_THREADS"] = str(os.cpu_count() or 1)
    if "mxnet" in sys.modules and os.name == "posix":
        sys.stdout.flush()
        os.execv(sys.executable, [sys.executable, "-m", "gluon_resnet"] + sys.argv[1:])


def main(argv=None):
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns 0 on success.

    Raises
    ------
    SystemExit
        2 for bad arguments (one line on stderr), 1 if training diverged, 130 if
        interrupted.
    """
    if argv is None and sys.argv[1:2] != ["launch"]:  # the launcher sets the workers' threads
        _default_threads()
    try:
        args = build_parser().parse_args(argv)
        if args.command == "train" and args.out is None and not args.base:
            # (with --from, the model and so the default is known once it is loaded)
            args.out = os.path.join("runs", args.model or "resnet18")
        return args.func(args)
    except CLIError as err:
        print("%s: error: %s" % (PROG, err), file=sys.stderr)
        raise SystemExit(2) from None
