"""``gluon-resnet train``, ``evaluate`` and ``split-data``: training runs on Fashion-MNIST
or image folders (fine-tuning, distributed jobs), their test accuracy, and splitting a
folder of class folders."""
import os
import sys

from .common import (_MAX_RESIZE, _SPLITS, PROG, CLIError, _check_model, _float_in, _int_in,
                     _load_data, _milestones, _prepare_out, parse_ctx)


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

    from ..data import load_data_image_folder
    from ..training.finetune import freeze_features, load_base, replace_output
    from ..models.registry import get_model
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
    from ..data.folders import _has_split
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

    from ..models.registry import get_model
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
    from ..training.distributed import check_kvstore_args
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
    from ..training.distributed import Distributed, is_distributed
    if args.kvstore is None or not is_distributed(args.kvstore):
        return args.kvstore, None
    try:
        job = Distributed(args.kvstore)
    except ValueError as err:
        raise CLIError(str(err)) from None
    return job.kvstore, job.rank


def _run_training(args, net, train_iter, test_iter, ctx, metadata):
    from ..training.callbacks import PrintLines, ProgressBar, SaveCurves, SaveHistory
    from ..training.checkpoint import CHECKPOINT_FILE, CheckpointError, RunLocked
    from ..training.loop import TrainingDiverged, train
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
    from ..training.checkpoint import load_checkpoint
    from ..training.loop import evaluate_accuracy
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
    from ..data import load_data_image_folder
    from ..training.loop import evaluate_accuracy
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
    from ..data.images import split_data
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


def _add_train_parser(sub):
    """The ``train`` command: its data and model."""
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
    _add_training_options(p)
    p.set_defaults(func=_cmd_train)


def _add_training_options(p):
    """The ``train`` command: schedule, precision, distribution, subsets, resume."""
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
    from ..training.distributed import KVSTORES
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


def add_parsers(sub):
    """``train``, ``evaluate`` and ``split-data``."""
    _add_train_parser(sub)
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
